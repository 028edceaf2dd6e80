import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  type MeshPeer,
  type PeerGroup,
  type PeerReport,
  RoguePeer,
  waitFor,
  withPeers,
} from '@meshcast/testing'

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

describe('the mesh: bad input from a peer that has the password', () => {
  test(
    'garbage on gossip, direct streams and bus links is dropped and counted; the members and their bus carry on',
    withPeers(async (group, t) => {
      const peers = await group.addMany(2)
      const [first, second] = await oneView(group, peers, 2)
      const a = { host: group.address(0), port: 7800, id: (first as PeerReport).id }
      const rogue = await RoguePeer.start(group.password, group.address(9))
      t.after(() => rogue.stop())
      await rogue.connect(a.host, a.port, a.id)
      await waitFor(() => rogue.gossipPeers() > 0, { timeout: 5000, what: 'the rogue in the gossip mesh' })
      const text = (s: string) => new TextEncoder().encode(s)
      const junk = [
        new Uint8Array([0xff, 0xfe, 0x00, 0x01]),
        text('{"v":1,"k":"hb"'),
        text('[1,2,3]'),
        text(JSON.stringify({ v: 1, k: 'hb', n: -1, member: {} })),
        text(JSON.stringify({ v: 1, k: 'bus', from: rogue.id, msgs: [] })),
        text(JSON.stringify({ v: 9, k: 'leave', from: (second as PeerReport).id })),
      ]
      for (const bytes of junk) await rogue.gossip(bytes)
      for (const bytes of junk) await rogue.direct(a.host, a.port, a.id, bytes).catch(() => {})
      await rogue
        .busLink(a.host, a.port, a.id, [
          ...junk,
          // a well-formed bus frame claiming to come from a member, and one from the rogue (not a member)
          text(
            JSON.stringify({
              v: 1,
              k: 'bus',
              from: (second as PeerReport).id,
              msgs: [{ s: 1, t: ['all'], c: 'x', d: 1 }],
            }),
          ),
          text(
            JSON.stringify({ v: 1, k: 'bus', from: rogue.id, msgs: [{ s: 1, t: ['all'], c: 'x', d: 1 }] }),
          ),
        ])
        .catch(() => {})
      const dropped = await waitFor(
        async () => {
          const d = (await (peers[0] as MeshPeer).report()).counters.dropped
          return (d.malformed ?? 0) >= 3 && (d.invalid ?? 0) >= 3 && (d.foreign ?? 0) >= 2 ? d : undefined
        },
        { timeout: 10_000, what: 'the garbage counted by reason' },
      )
      process.stdout.write(`# dropped by reason: ${JSON.stringify(dropped)}\n`)
      const after = await oneView(group, peers, 2)
      assert.equal(after[0]?.view.id, first?.view.id, 'no view change: nobody was suspected or removed')
      await (peers[1] as MeshPeer).send({ to: { to: 'all' }, count: 500, size: 100 })
      await waitFor(
        async () =>
          (await (peers[0] as MeshPeer).report()).received[(second as PeerReport).id]?.count === 500,
        { timeout: 10_000, what: 'the bus still delivering' },
      )
      const r = await (peers[0] as MeshPeer).report()
      assert.equal(r.received[(second as PeerReport).id]?.outOfOrder, 0)
      assert.equal(r.received[(second as PeerReport).id]?.duplicates, 0)
      assert.equal(r.state, 'joined')
    }),
  )
})
