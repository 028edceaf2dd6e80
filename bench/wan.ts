// The mesh across an emulated WAN, per timing profile: two regions of two hosts (an origin and an
// edge each) in network namespaces, joined by wan-forwarder.py (delay, jitter, independent loss;
// no reordering). For each profile: a steady window (false suspicions and view changes counted),
// then a SIGKILL and a silent cut (link down), timed until the others' views drop the node.
// Needs root. Usage: npx -y pnpm@10 bench:wan [delay ms] [jitter ms] [loss 0-1] [steady s] [profiles]
// e.g. `bench:wan 250 50 0.1 60 lan,wan`; writes bench/results/wan.json.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { NetnsLan, type NodeProcess, TestCluster, waitFor } from '@meshcast/testing'
import { progress, progressDone, sleep } from './lib.ts'

const DELAY = Number(process.argv[2] ?? 250)
const JITTER = Number(process.argv[3] ?? 50)
const LOSS = Number(process.argv[4] ?? 0.1)
const STEADY_S = Number(process.argv[5] ?? 60)
const PROFILES = (process.argv[6] ?? 'lan,wan').split(',')
if (![DELAY, JITTER, LOSS, STEADY_S].every(Number.isFinite) || !(LOSS >= 0 && LOSS < 1))
  throw new Error('usage: bench:wan [delay ms] [jitter ms] [loss 0-1] [steady s] [lan,wan]')
for (const p of PROFILES) if (p !== 'lan' && p !== 'wan') throw new Error(`a profile is lan or wan, not ${p}`)
const why = await NetnsLan.available()
if (why !== null) throw new Error(`bench:wan needs network namespaces: ${why}`)

const viewOf = async (n: NodeProcess) =>
  (await (await n.httpGet('/api/view')).json()) as { id: string; members: string[] }
const count = (n: NodeProcess, message: string, from: number) =>
  n
    .records()
    .slice(from)
    .filter((r) => r.message === message).length

async function oneView(nodes: NodeProcess[], size: number, timeout: number): Promise<number> {
  const start = performance.now()
  await waitFor(
    async () => {
      const views = await Promise.all(nodes.map(viewOf))
      return views.every((v) => v.id === views[0]?.id && v.members.length === size) ? true : undefined
    },
    { timeout, interval: 50, what: `one view of ${size}` },
  )
  return Math.round(performance.now() - start)
}

interface ProfileResult {
  profile: string
  steadyS: number
  suspicions: number[]
  /** silences past suspectAfter, each asked about (those that got no answer are also suspicions) */
  silences: number[]
  viewChanges: number[]
  killMs: number
  cutMs: number
}

const results: ProfileResult[] = []
for (const profile of PROFILES) {
  const lan = await NetnsLan.create(4)
  const cluster = new TestCluster({ lan })
  try {
    await lan.wan(
      [
        [0, 1],
        [2, 3],
      ],
      { delayMs: DELAY, jitterMs: JITTER, loss: LOSS, seed: 15 },
    )
    const origins = [`${lan.address(0)}:1935`, `${lan.address(2)}:1935`]
    const properties = { 'mesh.profile': profile }
    const nodes: NodeProcess[] = []
    for (let i = 0; i < 4; i++)
      nodes.push(
        await cluster.start(
          i % 2 === 0 ? { properties } : { cluster: { nodeType: 'edge', origins }, properties },
        ),
      )
    progress(`${profile}: forming one view across the WAN`)
    await oneView(nodes, 4, 90_000)
    // past youngFor (20 s with wan timings): silence is judged over suspectAfter alone
    await sleep(21_000)
    const marks = nodes.map((n) => n.records().length)
    progress(`${profile}: steady for ${STEADY_S} s`)
    await sleep(STEADY_S * 1000)
    const suspicions = nodes.map((n, i) => count(n, 'member suspected', marks[i] as number))
    const silences = nodes.map((n, i) => count(n, 'member silent: asking it', marks[i] as number))
    const viewChanges = nodes.map((n, i) => count(n, 'new view', marks[i] as number))
    // wait out what the steady window set going, then time the faults
    await oneView(nodes, 4, 60_000)
    progress(`${profile}: SIGKILL`)
    ;(nodes[3] as NodeProcess).kill('SIGKILL')
    const killMs = await oneView(nodes.slice(0, 3), 3, 60_000)
    progress(`${profile}: link down`)
    await lan.linkDown(2)
    const cutMs = await oneView(nodes.slice(0, 2), 2, 60_000)
    results.push({ profile, steadyS: STEADY_S, suspicions, silences, viewChanges, killMs, cutMs })
  } finally {
    await cluster.stopAll()
    await lan.destroy()
  }
}
progressDone()
console.log(
  `WAN ${DELAY} ms ± ${JITTER} ms, ${(LOSS * 100).toFixed(1)} % loss (no reordering, independent losses)`,
)
console.table(
  Object.fromEntries(
    results.map((r) => [
      r.profile,
      {
        [`suspicions in ${r.steadyS} s`]: r.suspicions.join(' '),
        'silences asked': r.silences.join(' '),
        'view changes': r.viewChanges.join(' '),
        'SIGKILL removed (ms)': r.killMs,
        'silent cut removed (ms)': r.cutMs,
      },
    ]),
  ),
)
const out = join(import.meta.dirname, 'results', 'wan.json')
writeFileSync(
  out,
  `${JSON.stringify({ date: new Date().toISOString(), link: { delayMs: DELAY, jitterMs: JITTER, loss: LOSS }, results }, null, 2)}\n`,
)
console.log(`written ${out}`)
