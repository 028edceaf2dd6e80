// Explores many more simulated schedules than CI runs: seeded random faults on a
// cluster of in-memory meshes (src/sim), every property checked on each (see
// runSchedule). Prints a progress line, the figures, and each failing seed with its story.
// Usage: npx -y pnpm@10 sim [seeds] [first seed] [all|crash] [min nodes-max nodes]
// e.g. `pnpm sim 20000 1 all 3-7`; writes bench/results/sim.json (the last run).
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ALL_FAULTS, CRASH_FAULTS, runSeeds } from '../src/sim/index.ts'

const COUNT = Number(process.argv[2] ?? 5000)
const FROM = Number(process.argv[3] ?? 1)
const KINDS = process.argv[4] === 'crash' ? CRASH_FAULTS : ALL_FAULTS
const [MIN, MAX] = (process.argv[5] ?? '3-7').split('-').map(Number)
if (!Number.isInteger(COUNT) || !Number.isInteger(FROM) || !Number.isInteger(MIN) || !Number.isInteger(MAX))
  throw new Error('usage: sim [seeds] [first seed] [all|crash] [min-max nodes]')

const tty = process.stderr.isTTY
const started = performance.now()
const agreement: number[] = []
let done = 0
const summary = await runSeeds(
  Array.from({ length: COUNT }, (_, i) => FROM + i),
  { kinds: KINDS, nodes: { min: MIN as number, max: MAX as number } },
  (r) => {
    done++
    if (r.agreedAfter !== null) agreement.push(r.agreedAfter)
    if (r.failures.length > 0)
      process.stderr.write(`${tty ? '\r\x1b[K' : ''}seed ${r.seed}: ${r.failures[0]}\n`)
    if (done % 100 === 0 || done === COUNT) {
      const line = `${done}/${COUNT} schedules, ${r.seed} last, ${((performance.now() - started) / 1000).toFixed(0)} s`
      process.stderr.write(tty ? `\r\x1b[K${line}` : `${line}\n`)
    }
  },
)
if (tty) process.stderr.write('\r\x1b[K')
agreement.sort((a, b) => a - b)
const at = (q: number) => agreement[Math.min(agreement.length - 1, Math.floor(q * agreement.length))] ?? null
const result = {
  when: new Date().toISOString(),
  seeds: `${FROM}-${FROM + COUNT - 1}`,
  faults: KINDS,
  nodes: `${MIN}-${MAX}`,
  runs: summary.runs,
  failed: summary.failed,
  oneViewAfterFaultsMs: { median: at(0.5), p99: at(0.99), max: summary.worstAgreement },
  logChecked: summary.logChecked,
  endedApart: summary.apart,
  finalRoundDelivered: summary.finalDelivered,
  steps: summary.steps,
  seconds: Math.round((performance.now() - started) / 1000),
}
console.log(JSON.stringify(result, null, 2))
if (summary.firstFailure !== '') console.log(summary.firstFailure)
writeFileSync(
  join(import.meta.dirname, '../../../bench/results/sim.json'),
  `${JSON.stringify(result, null, 2)}\n`,
)
process.exitCode = summary.failed.length > 0 ? 1 : 0
