// Benchmark: how long a node takes from spawn to `ready`, and how much memory
// an idle node holds. Prints a table and writes bench/results/startup.json.
// Usage: npx -y pnpm@10 bench:startup [runs]
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { TestCluster } from '@meshcast/testing'
import { quantile, rssMiB, sleep } from './lib.ts'

const RUNS = Number(process.argv[2] ?? 10)
/** Idle means past start-up: V8 shrinks its young generation some seconds after the GC a node runs 3 s after ready. */
const IDLE_WAIT_MS = 15_000

const startMs: number[] = []
const rss: number[] = []
for (let i = 0; i < RUNS; i++) {
  const cluster = new TestCluster()
  try {
    const t0 = performance.now()
    const node = await cluster.start({ cluster: { nodeType: 'off' }, args: ['--log-level', 'info'] })
    startMs.push(performance.now() - t0)
    await sleep(IDLE_WAIT_MS)
    const mib = rssMiB(node.child.pid as number)
    if (mib === null) throw new Error('the node exited while idle')
    rss.push(mib)
  } finally {
    await cluster.stopAll()
  }
  process.stdout.write(`\rrun ${i + 1}/${RUNS}`)
}
process.stdout.write('\n')

const result = {
  date: new Date().toISOString(),
  node: process.version,
  runs: RUNS,
  spawnToReadyMs: { p50: quantile(startMs, 0.5), p90: quantile(startMs, 0.9), max: Math.max(...startMs) },
  idleRssMiB: { p50: quantile(rss, 0.5), max: Math.max(...rss) },
}
console.table({
  'spawn → ready (ms)': {
    p50: result.spawnToReadyMs.p50.toFixed(0),
    p90: result.spawnToReadyMs.p90.toFixed(0),
    max: result.spawnToReadyMs.max.toFixed(0),
  },
  'idle RSS (MiB)': { p50: result.idleRssMiB.p50.toFixed(1), p90: '', max: result.idleRssMiB.max.toFixed(1) },
})
const out = join(import.meta.dirname, 'results', 'startup.json')
writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`)
console.log(`written ${out}`)
