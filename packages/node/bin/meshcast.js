#!/usr/bin/env node
// Plain JavaScript on purpose. A .ts entry would load Node's type stripper (a WebAssembly
// module, about 18 MB of memory for the life of the process) before the compile cache is on;
// with the cache on and warm, no file is stripped again. (NODE_COMPILE_CACHE moves the cache;
// the default is node-compile-cache in the temp folder.)
import module from 'node:module'

/** The young generation's semi-space cap, MiB (see below). */
const SEMI_SPACE_MIB = 4

// Node < 22 cannot strip types: say so, instead of its "Unknown file extension .ts" for cli.ts
if (Number(process.versions.node.split('.')[0]) < 22) {
  console.error(`meshcast needs Node.js 22 or newer; ${process.execPath} is ${process.version}`)
  process.exit(1)
}
// V8 sizes the young generation from the machine's memory: on 24 GiB it reserved 128 MiB, and a
// node's RSS crept up into it for half an hour (151 -> 195 MiB in the soak) while its heap in use
// stayed near 30 MiB. Under load the young generation grows to its cap, and that is most of what
// an edge's RSS grows by per player: at 500 players 63 KiB a player with a cap of 8 MiB, 48 KiB
// at 4, 43 at 2; at 1,000, 65 KiB at 16, 43 at 8, 39 at 4. CPU was the same within noise
// (500 and 1,000 players; relaying 50 streams 17.1-17.4 % at 4 against 16.5-17.1 % at 8), with
// twice the scavenges, each cheaper. The flag must be there when V8 starts, so the process
// becomes Node again with it, by execve: the same pid, as supervisors and signals need. One given (command line or
// NODE_OPTIONS) is kept.
const SEMI_SPACE = '--max-semi-space-size'
const semiSpaceGiven = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].some((a) =>
  a.startsWith(SEMI_SPACE),
)
if (!semiSpaceGiven && typeof process.execve === 'function') {
  process.execve(
    process.execPath,
    [process.execPath, `${SEMI_SPACE}=${SEMI_SPACE_MIB}`, ...process.execArgv, ...process.argv.slice(1)],
    process.env,
  )
}
module.enableCompileCache?.()
const { main } = await import('../src/cli.ts')
process.exitCode = await main(process.argv)
