import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { type MeshPeer, type PeerGroup, type PeerReport, waitFor, withPeers } from '@meshcast/testing'

/** Waits until every peer sees one view of `count` members. */
async function oneView(group: PeerGroup, peers: readonly MeshPeer[], count: number): Promise<PeerReport[]> {
  return await waitFor(
    async () => {
      const reports = await group.reports(peers)
      const id = reports[0]?.view.id
      return reports.every((r) => r.view.id === id && r.view.members.length === count) ? reports : undefined
    },
    { timeout: 15_000, what: `one view of ${count} on ${peers.length} peers` },
  )
}

describe('the mesh: cluster bus', () => {
  test(
    '10,000 messages from each of 3 senders at once arrive complete, in per-sender order, once, on every node',
    withPeers(async (group) => {
      const peers = await group.addMany(5)
      const reports = await oneView(group, peers, 5)
      const senders = peers.slice(0, 3)
      const senderIds = reports.slice(0, 3).map((r) => r.id)
      const started = Date.now()
      await Promise.all(senders.map((p) => p.send({ to: { to: 'all' }, count: 10_000, size: 100 })))
      const done = await waitFor(
        async () => {
          const rs = await group.reports()
          return rs.every((r) => senderIds.every((s) => s === r.id || r.received[s]?.count === 10_000))
            ? rs
            : undefined
        },
        { timeout: 60_000, interval: 200, what: 'all 30,000 messages everywhere' },
      )
      process.stdout.write(
        `# 3 x 10,000 messages of 100 B to 5 nodes: all delivered in ${Date.now() - started} ms\n`,
      )
      for (const r of done) {
        for (const s of senderIds) {
          if (s === r.id) continue
          const got = r.received[s]
          assert.deepEqual(
            got,
            { first: 1, count: 10_000, last: 10_000, outOfOrder: 0, duplicates: 0 },
            `${r.id} from ${s}`,
          )
        }
        assert.deepEqual(r.gaps, [])
      }
    }),
  )

  test(
    'invoke reaches all, origins, edges, one node and all but some, with one reply per target',
    withPeers(async (group) => {
      const origins = await group.addMany(2, { role: 'origin' })
      const edges = await Promise.all([group.add({ role: 'edge' }), group.add({ role: 'relay' })])
      const all = [...origins, ...edges]
      const reports = await oneView(group, all, 4)
      const ids = reports.map((r) => r.id)
      const [o0, o1, e0, e1] = ids as [string, string, string, string]
      const caller = edges[0] as MeshPeer
      const nodesOf = (replies: { node: string; ok: boolean }[]) => {
        assert.ok(
          replies.every((r) => r.ok),
          JSON.stringify(replies),
        )
        return new Set(replies.map((r) => r.node))
      }
      assert.deepEqual(
        nodesOf(await caller.invoke({ to: { to: 'all' }, method: 'probe.echo', args: 1 })),
        new Set(ids),
      )
      assert.deepEqual(
        nodesOf(await caller.invoke({ to: { to: 'origins' }, method: 'probe.echo' })),
        new Set([o0, o1]),
      )
      assert.deepEqual(
        nodesOf(await caller.invoke({ to: { to: 'edges' }, method: 'probe.echo' })),
        new Set([e0, e1]),
      )
      const one = await caller.invoke({
        to: { to: 'node', id: o1 },
        method: 'probe.echo',
        args: { x: [1, 2] },
      })
      assert.deepEqual(one, [
        { node: o1, ok: true, value: { id: o1, role: 'origin', args: { x: [1, 2] }, from: e0 } },
      ])
      assert.deepEqual(
        nodesOf(await caller.invoke({ to: { to: 'allBut', ids: [o0, e0] }, method: 'probe.echo' })),
        new Set([o1, e1]),
      )
    }),
  )

  test(
    'invoke reports per-target errors: a handler that throws, an unknown method, a timeout',
    withPeers(async (group) => {
      const peers = await group.addMany(2)
      const [a, b] = (await oneView(group, peers, 2)).map((r) => r.id) as [string, string]
      const caller = peers[0] as MeshPeer
      const failed = await caller.invoke({ to: { to: 'node', id: b }, method: 'probe.fail' })
      assert.deepEqual(failed, [
        { node: b, ok: false, error: { name: 'RangeError', message: 'probe.fail always fails' } },
      ])
      const unknown = await caller.invoke({ to: { to: 'node', id: b }, method: 'nothing.here' })
      assert.equal(unknown[0]?.ok === false && unknown[0].error.name, 'NoSuchMethodError')
      const slow = await caller.invoke({ to: { to: 'all' }, method: 'probe.never', timeout: 300 })
      assert.deepEqual(new Set(slow.map((r) => r.node)), new Set([a, b]))
      assert.ok(slow.every((r) => !r.ok && r.error.name === 'TimeoutError'))
    }),
  )

  test(
    'a late joiner gets the state from the coordinator before it joins, then every later message',
    withPeers(async (group) => {
      const peers = await group.addMany(3, { note: 'from-the-coordinator' })
      const reports = await oneView(group, peers, 3)
      await (peers[1] as MeshPeer).send({ to: { to: 'all' }, count: 500 })
      await waitFor(
        async () =>
          ((await (peers[0] as MeshPeer).report()).received[reports[1]?.id as string]?.count ?? 0) === 500,
      )
      const late = await group.add({ note: 'late' })
      const joined = await late.started
      const state = joined.stateReceived as { from: string; received: number; note: string }
      assert.equal(state.from, reports[0]?.id, 'state comes from the coordinator')
      assert.equal(state.note, 'from-the-coordinator')
      assert.equal(
        state.received,
        500,
        'the coordinator had delivered the 500 messages when it gave its state',
      )
      assert.equal(joined.view.members.length, 4, 'told it joined only with the full view')
      await (peers[1] as MeshPeer).send({ to: { to: 'all' }, count: 100 })
      const r = await waitFor(async () => {
        const rep = await late.report()
        return rep.received[reports[1]?.id as string]?.count === 100 ? rep : undefined
      })
      assert.deepEqual(r.received[reports[1]?.id as string], {
        first: 501,
        count: 100,
        last: 600,
        outOfOrder: 0,
        duplicates: 0,
      })
    }),
  )

  test(
    'a message over the size limit is refused to the sender with a clear error',
    withPeers(async (group) => {
      const [a] = await group.addMany(1)
      const result = await (a as MeshPeer).request<{ thrown: string; message: string }>({
        op: 'tryLarge',
        bytes: 70_000,
      })
      assert.equal(result.thrown, 'MessageTooLargeError')
      assert.match(result.message, /over the limit of 65536 bytes/)
    }),
  )
})
