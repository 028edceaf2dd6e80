#!/usr/bin/env node
// Plain JavaScript on purpose. A .ts entry would load Node's type stripper (a WebAssembly
// module, about 18 MB of memory for the life of the process) before the compile cache is on;
// with the cache on and warm, no file is stripped again. (NODE_COMPILE_CACHE moves the cache;
// the default is node-compile-cache in the temp folder.)
import module from 'node:module'

// Node < 22 cannot strip types: say so, instead of its "Unknown file extension .ts" for cli.ts
if (Number(process.versions.node.split('.')[0]) < 22) {
  console.error(`meshcast needs Node.js 22 or newer; ${process.execPath} is ${process.version}`)
  process.exit(1)
}
module.enableCompileCache?.()
const { main } = await import('../src/cli.ts')
process.exitCode = await main(process.argv)
