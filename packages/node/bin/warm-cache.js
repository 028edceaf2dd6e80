// Loads meshcast's modules with the compile cache on, writes the cache and exits: run by
// meshcast.js in a child when the cache is cold, so the type stripper lives and dies here.
import module from 'node:module'

module.enableCompileCache?.()
await import('../src/cli.ts')
module.flushCompileCache?.()
