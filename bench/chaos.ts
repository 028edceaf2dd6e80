// Chaos: 2 origins publishing the same stream, 3 edges with a WS-FLV player each, and a random
// node SIGKILLed (then restarted) or SIGSTOPped (then continued) every 20-40 s, for 10 minutes (or
// the minutes given). With `lan`: each node on a host of its own in network namespaces
// (needs root), a fault every 10-30 s, and link down (then up) among the faults. After every fault and recovery: how long until every running node shows one
// view of exactly the running nodes. Fails when a node exits on its own or a view does not agree
// within 30 s. Prints the events and figures and writes bench/results/chaos.json.
// Usage: npx -y pnpm@10 bench:chaos [minutes] [seed] [lan]
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { NetnsLan, runChaos } from '@meshcast/testing'
import { fmt } from './lib.ts'

const MINUTES = Number(process.argv[2] ?? 10)
if (!(MINUTES >= 1)) throw new Error(`chaos minutes must be a number of at least 1, not ${process.argv[2]}`)
const SEED = process.argv[3] === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(process.argv[3])
if (!Number.isInteger(SEED)) throw new Error(`the seed must be a whole number, not ${process.argv[3]}`)
const LAN = process.argv[4] === 'lan'
if (process.argv[4] !== undefined && !LAN)
  throw new Error(`the third argument is \`lan\` or nothing, not ${process.argv[4]}`)
if (LAN) {
  const why = await NetnsLan.available()
  if (why !== null) throw new Error(`chaos on a LAN needs network namespaces: ${why}`)
}
const lan = LAN ? await NetnsLan.create(5) : undefined
console.log(
  `chaos for ${MINUTES} min${LAN ? ' in network namespaces' : ''}, seed ${SEED} (run again with: npx -y pnpm@10 bench:chaos ${MINUTES} ${SEED}${LAN ? ' lan' : ''})`,
)
const result = await runChaos({
  durationMs: MINUTES * 60_000,
  seed: SEED,
  ...(lan === undefined
    ? {}
    : {
        lan,
        gapMs: [10_000, 30_000] as [number, number],
        faults: ['SIGKILL', 'SIGSTOP', 'link down'] as const,
      }),
  onEvent: (e) =>
    console.log(
      `${fmt(e.at / 1000, 1).padStart(6)} s  ${e.what.padEnd(9)} ${e.node.padEnd(9)} one view after ${e.agreedMs === null ? 'NEVER (30 s)' : `${e.agreedMs} ms`}`,
    ),
})
await lan?.destroy()
const faults = result.events.filter(
  (e) => e.what === 'SIGKILL' || e.what === 'SIGSTOP' || e.what === 'link down',
)
console.log(
  `${faults.length} faults; slowest agreement ${result.worstAgreedMs === null ? 'never' : `${result.worstAgreedMs} ms`}; ` +
    `crashed: ${result.crashed.join(', ') || 'none'}`,
)
console.table(
  Object.fromEntries(
    result.players.map((p) => [
      p.edge,
      {
        frames: p.frames,
        expected: p.expectedFrames,
        'longest gap (ms)': p.longestGapMs,
        reopened: p.reopened,
        cut: p.cut,
      },
    ]),
  ),
)
console.log(
  `RSS after start-up / at the end (MiB): ${Object.entries(result.rssMiB)
    .map(([n, m]) => `${n} ${result.rssStartMiB[n]}/${m}`)
    .join(', ')}`,
)
const out = join(import.meta.dirname, 'results', LAN ? 'chaos-lan.json' : 'chaos.json')
writeFileSync(
  out,
  `${JSON.stringify({ date: new Date().toISOString(), minutes: MINUTES, lan: LAN, ...result }, null, 2)}\n`,
)
console.log(`written ${out}`)
if (result.crashed.length > 0 || result.worstAgreedMs === null) {
  console.error('chaos failed: a node crashed, or a view did not agree within 30 s')
  process.exitCode = 1
}
