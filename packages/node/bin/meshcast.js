#!/usr/bin/env node
// Plain JavaScript on purpose. A .ts entry would load Node's type stripper (a WebAssembly
// module, about 18 MB of memory for the life of the process) before the compile cache is on;
// with the cache on and warm, no file is stripped again. (NODE_COMPILE_CACHE moves the cache;
// the default is node-compile-cache in the temp folder.)
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, writeFileSync } from 'node:fs'
import module from 'node:module'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The young generation's semi-space cap, MiB (see below). */
const SEMI_SPACE_MIB = 4
/** The cold-cache warm-up's bound (it takes about 0.5 s). */
const WARM_TIMEOUT_MS = 60_000

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
// becomes Node again with it, by execve: the same pid, as supervisors and signals need. One
// given (command line or NODE_OPTIONS) is kept.
const SEMI_SPACE = '--max-semi-space-size'
const semiSpaceGiven = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].some((a) =>
  a.startsWith(SEMI_SPACE),
)
// glibc's malloc, read once at exec (one already set is kept): an arena per thread that allocates
// (the main one, the libuv pool, V8's helpers) held freed memory each; two arenas, and free memory
// above 128 KiB at the top of the heap given back, took an idle edge from 107.5 to 104.1 MiB and
// one 30 s after 500 players left from 115.4 to 106-107 MiB; bench:profile CPU within its runs' spread.
const MALLOC = { MALLOC_ARENA_MAX: '2', MALLOC_TRIM_THRESHOLD_: String(128 * 1024) }
const mallocSet = Object.keys(MALLOC).every((name) => process.env[name] !== undefined)
if ((!semiSpaceGiven || !mallocSet) && typeof process.execve === 'function') {
  process.execve(
    process.execPath,
    [
      process.execPath,
      ...(semiSpaceGiven ? [] : [`${SEMI_SPACE}=${SEMI_SPACE_MIB}`]),
      ...process.execArgv,
      ...process.argv.slice(1),
    ],
    { ...MALLOC, ...process.env },
  )
}
module.enableCompileCache?.()
warmCompileCache()
const { main } = await import('../src/cli.ts')
process.exitCode = await main(process.argv)

/**
 * A cold cache (the first start after an install, a new container's empty temp folder): Node would
 * strip every .ts file here, and its stripper stays in memory for the life of the process (an idle
 * edge held 131 MiB instead of 108, measured). So a child loads the modules first, fills the cache
 * and exits, taking the stripper with it: that start takes 1.2 s instead of 0.74 s. A marker in
 * the cache folder, one per install folder (the cache is keyed by file path), says it was done; a
 * file edited since is stripped by the node itself.
 */
function warmCompileCache() {
  const dir = module.getCompileCacheDir?.()
  if (dir === undefined) return // the cache could not be enabled (e.g. a read-only folder)
  const here = fileURLToPath(new URL('.', import.meta.url))
  const marker = join(dir, `meshcast-${createHash('sha256').update(here).digest('hex').slice(0, 16)}`)
  if (existsSync(marker)) return
  // bounded: a child that hung would keep the node from ever starting; the node then strips itself
  const warm = spawnSync(process.execPath, [...process.execArgv, join(here, 'warm-cache.js')], {
    stdio: 'inherit',
    timeout: WARM_TIMEOUT_MS,
  })
  try {
    if (warm.status === 0) writeFileSync(marker, `${here}\n`)
  } catch {
    // a cache folder we may read but not write: the next start warms again
  }
}
