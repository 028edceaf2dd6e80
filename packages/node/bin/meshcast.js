#!/usr/bin/env node
// Plain JavaScript on purpose. A .ts entry would load Node's type stripper (a WebAssembly
// module, about 18 MB of memory for the life of the process) before the compile cache is on;
// with the cache on and warm, no file is stripped again. (NODE_COMPILE_CACHE moves the cache;
// the default is node-compile-cache in the temp folder.)
import module from 'node:module'

module.enableCompileCache?.()
const { main } = await import('../src/cli.ts')
process.exitCode = await main(process.argv)
