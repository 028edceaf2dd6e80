// The mesh across a WAN: two regions of two hosts each (network namespaces on two bridges),
// joined by a forwarder in user space that delays every frame 100 ms ± 10 ms and drops 3 %
// of them (packages/testing/src/wan-forwarder.py: this kernel has no sch_netem). Not modelled:
// reordering (each direction keeps its order) and bursty loss (losses are independent).
// Needs root (CI runs as root; withLan fails under CI=true without it).
import assert from 'node:assert/strict'
import { describe, type TestContext, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { type NetnsLan, type NodeProcess, waitFor, withLan } from '@meshcast/testing'

const LINK = { delayMs: 100, jitterMs: 10, loss: 0.03, seed: 15 }
const REGIONS: [number[], number[]] = [
  [0, 1],
  [2, 3],
]
/** How long the cluster is watched doing nothing. */
const STEADY_MS = 60_000
/** mesh.profile=wan's youngFor (packages/mesh/src/options.ts, WAN): a member heard for less is judged leniently. */
const WAN_YOUNG_FOR_MS = 20_000

interface MemberInfo {
  id: string
  self: boolean
  connected: boolean
  /** ms since the epoch when the node asked first heard of it */
  joinedAt: number
}
const membersOf = async (node: NodeProcess) =>
  ((await (await node.httpGet('/api/members')).json()) as { members: MemberInfo[] }).members

/** Waits until every node's members all pass `check` (each seen by each node). */
async function everyMember(
  nodes: readonly NodeProcess[],
  check: (m: MemberInfo) => boolean,
  what: string,
  timeout: number,
) {
  await waitFor(
    async () => {
      const lists = await Promise.all(nodes.map(membersOf))
      return lists.every((l) => l.length === nodes.length && l.every((m) => m.self || check(m))) || undefined
    },
    { timeout, interval: 250, what },
  )
}

const viewOf = async (node: NodeProcess) =>
  (await (await node.httpGet('/api/view')).json()) as { id: string; members: string[] }

/** Log lines of `node` with this message, from the `from`-th record on. */
const lines = (node: NodeProcess, message: string, from = 0) =>
  node
    .records()
    .slice(from)
    .filter((r) => r.message === message)

/** Waits until every node of `nodes` has one view of exactly `count` members; the ms it took. */
async function oneViewOf(nodes: readonly NodeProcess[], count: number, what: string, timeout = 30_000) {
  const start = performance.now()
  await waitFor(
    async () => {
      const views = await Promise.all(nodes.map(viewOf))
      return views.every((v) => v.id === views[0]?.id && v.members.length === count) ? true : undefined
    },
    { timeout, interval: 50, what },
  )
  return Math.round(performance.now() - start)
}

/** Starts four nodes across the WAN (two origins, one per region, seeding everyone) and waits for one view. */
async function clusterAcross(
  cluster: Parameters<Parameters<typeof withLan>[1]>[0],
  lan: NetnsLan,
  t: TestContext,
  properties: Record<string, string> = {},
) {
  await lan.wan(REGIONS, LINK)
  // hosts 0 and 2 are origins, 1 and 3 edges fed by both (their seeds; mDNS crosses the WAN too)
  const origins = [`${lan.address(0)}:1935`, `${lan.address(2)}:1935`]
  const nodes: NodeProcess[] = []
  for (let i = 0; i < 4; i++)
    nodes.push(
      await cluster.start(
        i % 2 === 0 ? { properties } : { cluster: { nodeType: 'edge', origins }, properties },
      ),
    )
  // the delay took: a TCP connect across the WAN takes a round trip, one within a region does not
  const across = performance.now()
  ;(await lan.connect(0, lan.address(2), nodes[2]?.httpPort ?? 5080)).destroy()
  const acrossMs = performance.now() - across
  const within = performance.now()
  ;(await lan.connect(0, lan.address(1), nodes[1]?.httpPort ?? 5080)).destroy()
  const withinMs = performance.now() - within
  t.diagnostic(
    `TCP connect across the WAN ${acrossMs.toFixed(0)} ms, within a region ${withinMs.toFixed(0)} ms`,
  )
  assert.ok(acrossMs >= 180, `a connect across the WAN took ${acrossMs} ms: the delay is not in place`)
  await oneViewOf(nodes, 4, 'one view of 4 across the WAN', 60_000)
  return nodes
}

describe('the mesh across a WAN (100 ms ± 10 ms, 3 % loss, network namespaces)', () => {
  test(
    'a steady minute with the default (lan) timings: no suspicion, no view change; a SIGKILL and a silent cut are detected',
    withLan(4, async (cluster, lan, t: TestContext) => {
      const nodes = await clusterAcross(cluster, lan, t)
      // the start-up finished (joins, the full mesh) before the steady minute begins
      await everyMember(nodes, (m) => m.connected, 'every node connected to every other', 30_000)
      const marks = nodes.map((n) => n.records().length)
      const before = await Promise.all(nodes.map(viewOf))
      await sleep(STEADY_MS)
      const after = await Promise.all(nodes.map(viewOf))
      const suspicions = nodes.map((n, i) => lines(n, 'member suspected', marks[i]).length)
      const silences = nodes.map((n, i) => lines(n, 'member silent: asking it', marks[i]).length)
      const views = nodes.map((n, i) => lines(n, 'new view', marks[i]).length)
      // A TCP segment lost twice holds the frames behind it a second or more: a silence past
      // suspectAfter that the member's answer to a ping (or its next heartbeat) clears.
      t.diagnostic(
        `over ${STEADY_MS / 1000} s: suspicions per node ${suspicions.join(' ')}, silences asked ${silences.join(' ')}, view changes ${views.join(' ')}`,
      )
      assert.deepEqual(suspicions, [0, 0, 0, 0], 'no false suspicion')
      assert.deepEqual(views, [0, 0, 0, 0], 'no view change')
      assert.deepEqual(
        after.map((v) => v.id),
        before.map((v) => v.id),
      )

      // a SIGKILL in region B: its connections close, seen on the other side of the WAN
      const killed = nodes[3] as NodeProcess
      killed.kill('SIGKILL')
      const killMs = await oneViewOf(nodes.slice(0, 3), 3, 'the SIGKILLed node removed everywhere')
      // a silent cut: host 2's link goes down, nothing closes, only silence tells
      await lan.linkDown(2)
      const cutMs = await oneViewOf(nodes.slice(0, 2), 2, 'the cut-off node removed in region A')
      t.diagnostic(
        `lan timings across the WAN: a SIGKILL removed everywhere in ${killMs} ms; a silent cut in ${cutMs} ms`,
      )
    }),
  )

  test(
    'mesh.profile=wan: the same cluster; a SIGKILL is seen as fast, a silent cut after five seconds of silence',
    withLan(4, async (cluster, lan, t: TestContext) => {
      const nodes = await clusterAcross(cluster, lan, t, { 'mesh.profile': 'wan' })
      // past youngFor (20 s with wan timings), when silence is judged over suspectAfter alone: a
      // product timer with nothing to announce its end, read off each node's own first-heard times
      await everyMember(
        nodes,
        (m) => Date.now() - m.joinedAt >= WAN_YOUNG_FOR_MS,
        'every member heard for longer than youngFor by every node',
        WAN_YOUNG_FOR_MS + 30_000,
      )
      const killed = nodes[3] as NodeProcess
      killed.kill('SIGKILL')
      const killMs = await oneViewOf(nodes.slice(0, 3), 3, 'the SIGKILLed node removed everywhere')
      await lan.linkDown(2)
      const cutStart = performance.now()
      const cutMs = await oneViewOf(nodes.slice(0, 2), 2, 'the cut-off node removed in region A')
      t.diagnostic(`wan timings: a SIGKILL removed everywhere in ${killMs} ms; a silent cut in ${cutMs} ms`)
      // the profile is in force: silence is judged over suspectAfter 5 s (lan: 1.5 s)
      assert.ok(
        performance.now() - cutStart >= 5000,
        `a silent cut removed after ${cutMs} ms: not the wan timings`,
      )
      const said = lines(nodes[0] as NodeProcess, 'member suspected')
      assert.ok(said.length > 0)
    }),
  )
})
