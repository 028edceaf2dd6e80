// Mesh tests on a real LAN: one network namespace per host on a bridge,
// each node on its own IP with the default ports, multicast working.
// Needs root (CI runs as root; withLan fails under CI=true without it).
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  DEFAULT_YOUNG_FOR,
  MeshPeer,
  type NetnsLan,
  type NodeProcess,
  type PeerReport,
  uniquePassword,
  waitFor,
  withLan,
} from '@meshcast/testing'

/** A window: two and a half of mDNS's 2 s rounds for two clusters to mix, were they going to (nothing to await). */
const MDNS_MIX_WINDOW_MS = 5000
/**
 * A seed's quick retries after a dropped connection (0.5, 1, 2, 4 s; packages/mesh/src/transport/connector.ts
 * QUICK_RETRIES) each with a 1 s dial: over by 12 s. They say nothing when done, so this is waited out.
 */
const SEED_QUICK_RETRIES_MS = 12_000

const viewOf = async (node: NodeProcess) =>
  (await (await node.httpGet('/api/view')).json()) as { id: string; members: string[] }

/** A bare mesh member on LAN host `i`, mDNS on, nothing else configured (unless `over` says so). */
/** What a test may set besides the LAN's defaults (MeshInit's fields of the same names). */
interface PeerOptions {
  mdns?: boolean
  seeds?: { host: string; port: number }[]
  retryInterval?: number
  dialTimeout?: number
}

function lanPeer(lan: NetnsLan, i: number, password: string, over: PeerOptions = {}): MeshPeer {
  const host = lan.address(i)
  return new MeshPeer(
    `peer-${i}`,
    {
      mesh: {
        ...over,
        password,
        host,
        port: 7800,
        mdns: over.mdns ?? true,
        self: {
          role: 'origin',
          publicIp: host,
          publicPort: 1935,
          http: `${host}:5080`,
          privateInstance: false,
        },
      },
    },
    { netns: lan.namespace(i) },
  )
}

async function reportsOf(peers: readonly MeshPeer[]): Promise<PeerReport[]> {
  return await Promise.all(peers.map((p) => p.report()))
}

/** Waits until the peers' views are exactly `groups` (lists of indexes into `peers`), one view id per group. */
async function viewsAre(peers: readonly MeshPeer[], groups: number[][], what: string): Promise<PeerReport[]> {
  const ids = (await reportsOf(peers)).map((r) => r.id)
  return await waitFor(
    async () => {
      const reports = await reportsOf(peers)
      const ok = groups.every((g) =>
        g.every((i) => {
          const v = reports[i]?.view
          return (
            v !== undefined &&
            v.id === reports[g[0] as number]?.view.id &&
            v.members.length === g.length &&
            g.every((j) => v.members.includes(ids[j] as string))
          )
        }),
      )
      return ok ? reports : undefined
    },
    { timeout: 20_000, interval: 50, what },
  )
}

/** Cuts hosts 0 and 1 off from 2 and 3, and waits until the peers are in those two views. */
async function cutInTwo(lan: NetnsLan, peers: readonly MeshPeer[]): Promise<void> {
  const sides = [
    [0, 1],
    [2, 3],
  ]
  await lan.partition(sides)
  await viewsAre(peers, sides, 'two views of 2 after the cut')
}

describe('the mesh on a LAN (network namespaces)', () => {
  test(
    'nodes with the same password and no other configuration find each other by mDNS',
    withLan(3, async (cluster) => {
      const nodes = await cluster.startMany(3)
      const v = await waitFor(
        async () => {
          const views = await Promise.all(nodes.map(viewOf))
          return views.every((x) => x.id === views[0]?.id && x.members.length === 3) ? views[0] : undefined
        },
        { timeout: 20_000, what: 'one view of 3 found by mDNS' },
      )
      assert.equal(v?.members.length, 3)
      for (const n of nodes)
        assert.ok(n.records().some((r) => r.message === 'mesh listening' && r.mdns === true))
    }),
  )

  test(
    'two clusters on one LAN ignore each other',
    withLan(4, async (cluster, lan) => {
      const a = await cluster.startMany(2) // hosts 0 and 1, the cluster's password
      const other = uniquePassword() // cluster B: same LAN, same ports, another password
      const b = [lanPeer(lan, 2, other), lanPeer(lan, 3, other)]
      try {
        await waitFor(async () => (await Promise.all(a.map(viewOf))).every((v) => v.members.length === 2), {
          timeout: 20_000,
          what: 'cluster A of 2',
        })
        await Promise.all(b.map((p) => p.started))
        await waitFor(async () => (await reportsOf(b)).every((r) => r.view.members.length === 2), {
          timeout: 20_000,
          what: 'cluster B of 2',
        })
        // give mDNS a few rounds (2 s each) to mix them up if it were going to
        await new Promise((r) => setTimeout(r, MDNS_MIX_WINDOW_MS))
        for (const v of await Promise.all(a.map(viewOf))) assert.equal(v.members.length, 2)
        for (const r of await reportsOf(b)) assert.equal(r.view.members.length, 2)
        for (const n of a) assert.ok(!n.records().some((r) => r.message === 'dropped inbound mesh message'))
      } finally {
        await Promise.all(b.map((p) => p.stop()))
      }
    }),
  )

  test(
    'a partition splits the view within the bound; healing merges it, and the bus loses nothing sent after the merge',
    withLan(4, async (_cluster, lan) => {
      const password = uniquePassword()
      const peers = [0, 1, 2, 3].map((i) => lanPeer(lan, i, password))
      try {
        await Promise.all(peers.map((p) => p.started))
        const before = await viewsAre(peers, [[0, 1, 2, 3]], 'one view of 4')
        const ids = before.map((r) => r.id)
        // The bound is for members past their first seconds (a just-started member gets 3x the silence: youngFor).
        // Every peer had heard every other by the view above; youngFor is a timer with nothing to say at its
        // end (a bare MeshPeer reports no first-heard times), so it is waited out from there.
        await new Promise((r) => setTimeout(r, DEFAULT_YOUNG_FOR))

        const cutAt = Date.now()
        await cutInTwo(lan, peers)
        const splitMs = Date.now() - cutAt
        process.stdout.write(`# partition to two views on every node: ${splitMs} ms (goal 3000)\n`)
        assert.ok(splitMs < 10_000)

        // traffic on both sides during the partition: it cannot reach the other side
        await (peers[0] as MeshPeer).send({ to: { to: 'all' }, count: 200 })
        await (peers[3] as MeshPeer).send({ to: { to: 'all' }, count: 200 })

        const healAt = Date.now()
        await lan.heal()
        const merged = await viewsAre(peers, [[0, 1, 2, 3]], 'one view of 4 after healing')
        process.stdout.write(`# heal to one merged view: ${Date.now() - healAt} ms\n`)
        assert.equal(new Set(merged.map((r) => r.view.id)).size, 1)

        // after the merge: everything arrives, in order, once, everywhere
        const after = await Promise.all([
          (peers[0] as MeshPeer).send({ to: { to: 'all' }, count: 1000 }),
          (peers[3] as MeshPeer).send({ to: { to: 'all' }, count: 1000 }),
        ])
        assert.deepEqual(
          after.map((a) => a.sent),
          [1200, 1200],
        )
        const final = await waitFor(
          async () => {
            const rs = await reportsOf(peers)
            const done = rs.every((r, i) =>
              [0, 3].every((s) => s === i || (r.received[ids[s] as string]?.last ?? 0) >= 1200),
            )
            return done ? rs : undefined
          },
          { timeout: 30_000, interval: 200, what: 'the messages sent after the merge everywhere' },
        )
        for (const [i, r] of final.entries()) {
          for (const s of [0, 3]) {
            if (s === i) continue
            const got = r.received[ids[s] as string]
            assert.ok(got !== undefined)
            assert.equal(got.duplicates, 0, `peer ${i} from ${s}: duplicates`)
            // the same side got all 1200; the other side lost the 200 sent during the partition and was told so
            const sameSide = i < 2 === s < 2
            if (sameSide) assert.equal(got.count, 1200, `peer ${i} from ${s}`)
            else {
              const lostByGap = r.gaps.filter((g) => g.from === ids[s]).reduce((a, g) => a + g.lost, 0)
              assert.equal(
                got.count + lostByGap,
                1200,
                `peer ${i} from ${s}: received ${got.count}, gaps ${lostByGap}`,
              )
              assert.ok(got.count >= 1000, 'nothing sent after the merge is lost')
            }
          }
        }
      } finally {
        await Promise.all(peers.map((p) => p.stop()))
      }
    }),
  )

  test(
    'with mDNS off and one seed, a partition heals within seconds of the link coming back: lost members are dialled',
    withLan(4, async (_cluster, lan) => {
      const password = uniquePassword()
      // mDNS off; everyone seeded with peer 0 only, retried every minute: after the seed's quick
      // retries (under 12 s with 1 s dials), only the lost members' addresses can bring the sides back
      const seed = { host: lan.address(0), port: 7800 }
      const peer = (i: number) =>
        lanPeer(lan, i, password, {
          mdns: false,
          seeds: i === 0 ? [] : [seed],
          retryInterval: 60_000,
          dialTimeout: 1000,
        })
      // the seed first: a refused first dial would wait the whole minute
      const peers = [peer(0)]
      try {
        await (peers[0] as MeshPeer).started
        peers.push(peer(1), peer(2), peer(3))
        await Promise.all(peers.map((p) => p.started))
        await viewsAre(peers, [[0, 1, 2, 3]], 'one view of 4 through the seed')
        await cutInTwo(lan, peers)
        await new Promise((r) => setTimeout(r, SEED_QUICK_RETRIES_MS))
        const healAt = Date.now()
        await lan.heal()
        await viewsAre(peers, [[0, 1, 2, 3]], 'one view of 4 after healing, with no seed retry due')
        process.stdout.write(`# mDNS off: heal to one merged view: ${Date.now() - healAt} ms\n`)
      } finally {
        await Promise.all(peers.map((p) => p.stop()))
      }
    }),
  )
})
