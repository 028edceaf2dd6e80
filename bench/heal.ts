// Benchmark: the coordinator dies right after a join. Three nodes on loopback, mDNS off, the
// second and third seeded with the first only (an origin, as cluster.xml `origins` makes it); the
// first is SIGKILLed DELAY ms after all three agree on one view, before the view has held for
// `viewHold` and connected the other two. Each try then waits up to WAIT s for the survivors to agree on one two-member
// view, and records how long that took, or that they stayed split. Before healing most
// tries at 0.1-0.5 s split, some for good.
// Usage: npx -y pnpm@10 bench:heal [tries per delay] [delays ms, comma-separated] [wait s];
// writes bench/results/heal.json.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { type NodeProcess, TestCluster, waitFor } from '@meshcast/testing'
import { errorText, max, median, progress, progressDone, sleep } from './lib.ts'

const TRIES = Number(process.argv[2] ?? 10)
const DELAYS = (process.argv[3] ?? '100,300,500,1000').split(',').map(Number)
const WAIT_S = Number(process.argv[4] ?? 20)

interface ViewBody {
  id: string
  members: string[]
}

const view = async (n: NodeProcess): Promise<ViewBody> =>
  (await (await fetch(`${n.httpUrl}/api/view`)).json()) as ViewBody

/** One view of `count` members on every node, or undefined. */
async function agreed(nodes: NodeProcess[], count: number): Promise<ViewBody | undefined> {
  const views = await Promise.all(nodes.map(view))
  const first = views[0] as ViewBody
  return views.every((v) => v.id === first.id && v.members.length === count) ? first : undefined
}

interface Try {
  delayMs: number
  /** ms from the kill to one view on both survivors; null: still split after WAIT_S */
  healedMs: number | null
  /** whether a survivor was ever in a view without the other after the kill */
  split: boolean
}

const tries: Try[] = []
for (const delayMs of DELAYS) {
  for (let i = 0; i < TRIES; i++) {
    progress(`delay ${delayMs} ms: try ${i + 1}/${TRIES}`)
    const cluster = new TestCluster()
    try {
      const first = await cluster.start({ name: 'origin' })
      const rest = await cluster.startMany(2)
      const all = [first, ...rest]
      await waitFor(() => agreed(all, 3), { timeout: 20_000, what: 'three nodes in one view' })
      const ids = await Promise.all(rest.map(async (n) => (await n.status()).id))
      await sleep(delayMs)
      first.kill('SIGKILL')
      const killedAt = Date.now()
      let split = false
      let healedMs: number | null = null
      while (Date.now() - killedAt < WAIT_S * 1000) {
        const views = await Promise.all(rest.map(view))
        const [a, b] = views as [ViewBody, ViewBody]
        // split: a survivor in a view without the other (not the moment each adopts the next view)
        if (!a.members.includes(ids[1] as string) || !b.members.includes(ids[0] as string)) split = true
        if (a.id === b.id && a.members.length === 2) {
          healedMs = Date.now() - killedAt
          break
        }
        await sleep(50)
      }
      tries.push({ delayMs, healedMs, split })
    } catch (err) {
      progressDone()
      console.error(`delay ${delayMs} ms, try ${i + 1}: ${errorText(err)}`)
    } finally {
      await cluster.stopAll()
    }
  }
}
progressDone()

const rows = DELAYS.map((delayMs) => {
  const mine = tries.filter((t) => t.delayMs === delayMs)
  const healed = mine.flatMap((t) => (t.healedMs === null ? [] : [t.healedMs]))
  return {
    delayMs,
    tries: mine.length,
    split: mine.filter((t) => t.split).length,
    stuck: mine.filter((t) => t.healedMs === null).length,
    medianMs: healed.length === 0 ? null : median(healed),
    worstMs: healed.length === 0 ? null : max(healed),
  }
})
console.log(
  `coordinator SIGKILLed after a join, 3 nodes, mDNS off, seeds: the first only (${WAIT_S} s to heal)`,
)
console.log(
  'kill after | tries | split (a survivor in a view without the other) | still split | one view after (median / worst)',
)
for (const r of rows)
  console.log(
    `${r.delayMs} ms | ${r.tries} | ${r.split} | ${r.stuck} | ${r.medianMs ?? '—'} / ${r.worstMs ?? '—'} ms`,
  )
const out = join(import.meta.dirname, 'results', 'heal.json')
writeFileSync(
  out,
  `${JSON.stringify({ date: new Date().toISOString(), waitS: WAIT_S, rows, tries }, null, 2)}\n`,
)
console.log(`results in ${out}`)
