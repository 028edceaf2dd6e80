// Soak: 2 origins, 2 edges, players replaced one at a time, chat on every node and HTTP every
// second, for 30 minutes (or the minutes given); every node's RSS must stay flat within 10 %
// (the median right after the warm-up against the median at the end). Prints a table and writes
// bench/results/soak.json. Usage: npx -y pnpm@10 bench:soak [minutes]
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { runSoak } from '@meshcast/testing'
import { fmt, progress } from './lib.ts'

const MINUTES = Number(process.argv[2] ?? 30)
if (!(MINUTES >= 2)) throw new Error(`soak minutes must be a number of at least 2, not ${process.argv[2]}`)
const durationMs = MINUTES * 60_000
const result = await runSoak({
  durationMs,
  // V8 and glibc grow in the first minutes: judge what comes after
  warmupMs: Math.min(5 * 60_000, durationMs / 4),
  sampleMs: 10_000,
  onSample: (at, rss) =>
    progress(`soak ${fmt(at / 60_000, 1)}/${MINUTES} min: RSS ${rss.map((m) => fmt(m)).join(' / ')} MiB`),
})
process.stderr.write('\n')
console.table(
  Object.fromEntries(
    result.nodes.map((n) => [
      n.name,
      {
        'after warm-up (MiB)': fmt(n.startMiB, 1),
        'at the end (MiB)': fmt(n.endMiB, 1),
        'max (MiB)': fmt(n.maxMiB, 1),
        drift: `${fmt(n.drift * 100, 1)} %`,
      },
    ]),
  ),
)
console.log(
  `players cycled ${result.playersCycled}; chat ${result.chatDelivered}/${result.chatSent} delivered everywhere; ` +
    `HTTP ${result.httpAnswered}/${result.httpAsked} answered; nodes exited: ${result.exited.join(', ') || 'none'}; ` +
    `sessions kept after their player left: ${result.sessionsLeft.map((e) => `${e.name} counts ${e.counted} of ${e.connected}`).join(', ') || 'none'}`,
)
const out = join(import.meta.dirname, 'results', 'soak.json')
writeFileSync(
  out,
  `${JSON.stringify({ date: new Date().toISOString(), minutes: MINUTES, ...result }, null, 2)}\n`,
)
console.log(`written ${out}`)
const flat =
  result.nodes.every((n) => n.drift <= 0.1) && result.exited.length === 0 && result.sessionsLeft.length === 0
if (!flat) {
  console.error('the soak failed: a node exited, an edge kept a session, or its RSS grew more than 10 %')
  process.exitCode = 1
}
