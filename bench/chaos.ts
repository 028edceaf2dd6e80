// Chaos: 2 origins publishing the same stream, 3 edges with a WS-FLV player each, and a random
// node SIGKILLed (then restarted) or SIGSTOPped (then continued) every 20-40 s, for 10 minutes (or
// the minutes given). After every fault and recovery: how long until every running node shows one
// view of exactly the running nodes. Fails when a node exits on its own or a view does not agree
// within 30 s. Prints the events and figures and writes bench/results/chaos.json.
// Usage: npx -y pnpm@10 bench:chaos [minutes] [seed]
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { runChaos } from '@meshcast/testing'
import { fmt } from './lib.ts'

const MINUTES = Number(process.argv[2] ?? 10)
if (!(MINUTES >= 1)) throw new Error(`chaos minutes must be a number of at least 1, not ${process.argv[2]}`)
const SEED = process.argv[3] === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(process.argv[3])
if (!Number.isInteger(SEED)) throw new Error(`the seed must be a whole number, not ${process.argv[3]}`)
console.log(
  `chaos for ${MINUTES} min, seed ${SEED} (run again with: npx -y pnpm@10 bench:chaos ${MINUTES} ${SEED})`,
)
const result = await runChaos({
  durationMs: MINUTES * 60_000,
  seed: SEED,
  onEvent: (e) =>
    console.log(
      `${fmt(e.at / 1000, 1).padStart(6)} s  ${e.what.padEnd(7)} ${e.node.padEnd(9)} one view after ${e.agreedMs === null ? 'NEVER (30 s)' : `${e.agreedMs} ms`}`,
    ),
})
const faults = result.events.filter((e) => e.what === 'SIGKILL' || e.what === 'SIGSTOP')
console.log(
  `${faults.length} faults; slowest agreement ${result.worstAgreedMs === null ? 'never' : `${result.worstAgreedMs} ms`}; ` +
    `crashed: ${result.crashed.join(', ') || 'none'}`,
)
console.table(
  Object.fromEntries(
    result.players.map((p) => [
      p.edge,
      { frames: p.frames, 'longest gap (ms)': p.longestGapMs, reopened: p.reopened, cut: p.cut },
    ]),
  ),
)
console.log(
  `RSS at the end (MiB): ${Object.entries(result.rssMiB)
    .map(([n, m]) => `${n} ${m}`)
    .join(', ')}`,
)
const out = join(import.meta.dirname, 'results', 'chaos.json')
writeFileSync(
  out,
  `${JSON.stringify({ date: new Date().toISOString(), minutes: MINUTES, ...result }, null, 2)}\n`,
)
console.log(`written ${out}`)
if (result.crashed.length > 0 || result.worstAgreedMs === null) {
  console.error('chaos failed: a node crashed, or a view did not agree within 30 s')
  process.exitCode = 1
}
