import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { Member } from '@meshcast/interface'
import { MemberTable } from '../src/membership/member-table.ts'
import { ViewKeeper } from '../src/membership/view-keeper.ts'

function member(id: string, startedAt: number): Member {
  return {
    id,
    role: 'origin',
    publicIp: '10.0.0.1',
    publicPort: 1935,
    http: '10.0.0.1:5080',
    mesh: '10.0.0.1:7800',
    privateInstance: false,
    startedAt,
    load: { subscribers: 0, streams: 0 },
    data: {},
  }
}

const TIMINGS = { suspectAfter: 1500, closedGrace: 300, silentGrace: 1000, youngFor: 0 }
const A = member('AAAAAAAAaaaa', 100)
const B = member('BBBBBBBBbbbb', 200)
const C = member('CCCCCCCCcccc', 300)

describe('MemberTable', () => {
  test('orders members by start time, then id', () => {
    const t = new MemberTable(B, TIMINGS, 0)
    t.heard(C, 1, 0)
    t.heard(A, 1, 0)
    assert.deepEqual(
      t.ordered().map((m) => m.id),
      [A.id, B.id, C.id],
    )
  })

  test('a closed connection suspects at once and removes after the closed grace', () => {
    const t = new MemberTable(A, TIMINGS, 0)
    t.heard(B, 1, 0)
    assert.equal(t.closed(B.id, 10), true)
    assert.deepEqual(t.tick(200).removed, [])
    assert.deepEqual(
      t.tick(310).removed.map((e) => e.member.id),
      [B.id],
    )
    assert.equal(t.has(B.id), false)
  })

  test('a relayed heartbeat does not clear a closed-connection suspicion; a new connection does', () => {
    const t = new MemberTable(A, TIMINGS, 0)
    t.heard(B, 1, 0)
    t.closed(B.id, 10)
    t.heard(B, 2, 20)
    assert.equal(t.get(B.id)?.suspect?.reason, 'closed')
    assert.equal(t.alive(B.id, 30), true)
    assert.equal(t.get(B.id)?.suspect, null)
  })

  test('silence past suspectAfter asks the member; an answer or a heartbeat clears it, no answer suspects and removes it', () => {
    const t = new MemberTable(A, TIMINGS, 0)
    t.heard(B, 1, 0)
    assert.deepEqual(t.tick(1400).silent, [])
    const first = t.tick(1600)
    assert.deepEqual(
      first.silent.map((e) => e.member.id),
      [B.id],
      'asked',
    )
    assert.deepEqual(first.suspected, [], 'silence alone is no suspicion')
    assert.equal(t.get(B.id)?.asked, 1600)
    assert.deepEqual(t.tick(1700).silent, [], 'asked once')
    t.heard(B, 2, 1800)
    assert.equal(t.get(B.id)?.asked, null, 'a heartbeat answers')
    assert.deepEqual(t.tick(2700).suspected, [])
    // silent again: asked at 3400; the ping's answer clears it
    assert.equal(t.tick(3400).silent.length, 1)
    assert.equal(t.answered(B.id, 3500), true)
    assert.equal(t.answered(B.id, 3500), false, 'answered once')
    assert.deepEqual(t.tick(4400).suspected, [], 'the answer counts as hearing it')
    // silent again, and no answer within silentGrace: suspected and removed in one tick
    assert.equal(t.tick(5100).silent.length, 1)
    assert.deepEqual(t.tick(6000).removed, [], 'within the grace')
    const last = t.tick(6100)
    assert.deepEqual(
      last.suspected.map((e) => [e.member.id, e.suspect?.reason, e.suspect?.since]),
      [[B.id, 'silent', 5100]],
    )
    assert.deepEqual(
      last.removed.map((e) => e.member.id),
      [B.id],
    )
    assert.equal(t.has(B.id), false)
  })

  test('a member heard for less than youngFor is suspected for silence only after 3 × suspectAfter', () => {
    const t = new MemberTable(A, { ...TIMINGS, youngFor: 10_000 }, 0)
    t.heard(B, 1, 0)
    assert.equal(t.tick(2000).silent.length, 0, 'young: 2 s of silence is not yet suspicious')
    assert.equal(t.tick(4600).silent.length, 1, 'young: 4.6 s is')
    const u = new MemberTable(A, { ...TIMINGS, youngFor: 10_000 }, 0)
    u.heard(B, 1, 0)
    u.heard(B, 2, 11_000)
    assert.equal(u.tick(12_600).silent.length, 1, 'grown up: 1.6 s of silence is suspicious')
  })

  test('silence is counted only while a member is watched; a closed connection is judged regardless', () => {
    const t = new MemberTable(A, TIMINGS, 0)
    t.heard(B, 1, 0)
    t.heard(C, 1, 0)
    let watching = false
    const watched = (id: string) => id === C.id || watching
    assert.deepEqual(
      t.tick(5000, watched).silent.map((e) => e.member.id),
      [C.id],
      'B is not watched: 5 s without its beats is not silence',
    )
    watching = true
    assert.equal(t.tick(6000, watched).silent.length, 0, 'watched for 1 s: not yet silent')
    assert.deepEqual(
      t.tick(6600, watched).silent.map((e) => e.member.id),
      [B.id],
      'silent for suspectAfter since it was first watched',
    )
    const u = new MemberTable(A, TIMINGS, 0)
    u.heard(B, 1, 0)
    u.closed(B.id, 100)
    assert.equal(u.tick(500, () => false).removed.length, 1, 'an unwatched member whose connection closed')
  })
  test('a replayed or older heartbeat is refused, also after removal', () => {
    const t = new MemberTable(A, TIMINGS, 0)
    assert.equal(t.heard(B, 5, 0), 'new')
    assert.equal(t.heard(B, 5, 1), 'replay')
    assert.equal(t.heard(B, 4, 1), 'stale')
    t.closed(B.id, 2)
    t.tick(400)
    assert.equal(t.heard(B, 5, 500), 'replay')
    assert.equal(t.heard(B, 6, 500), 'new')
  })

  test('a member that left cleanly never comes back under the same id', () => {
    const t = new MemberTable(A, TIMINGS, 0)
    t.heard(B, 1, 0)
    assert.equal(t.leave(B.id), true)
    assert.equal(t.heard(B, 2, 10), 'left')
    assert.equal(t.has(B.id), false)
  })
})

describe('ViewKeeper', () => {
  const lookup = (...ms: Member[]) => {
    const map = new Map(ms.map((m) => [m.id, m]))
    return (id: string) => map.get(id)
  }

  test('the oldest member installs views; each change gets a higher counter and names who joined and left', () => {
    const k = new ViewKeeper(A)
    const c1 = k.reconcile([A, B], lookup(A, B))
    assert.ok(c1)
    assert.equal(c1.view.coordinator, A.id)
    assert.deepEqual(
      c1.joined.map((m) => m.id),
      [B.id],
    )
    const c2 = k.reconcile([A], lookup(A))
    assert.ok(c2)
    assert.ok(c2.view.counter > c1.view.counter)
    assert.deepEqual(
      c2.left.map((m) => m.id),
      [B.id],
    )
    assert.equal(k.reconcile([A], lookup(A)), null)
  })

  test('other members adopt the coordinator view once it names them and they know everyone in it', () => {
    const k = new ViewKeeper(B)
    assert.equal(k.adopt(A.id, { counter: 5, members: [A.id] }, [A, B], lookup(A, B)), null) // not in it yet
    assert.equal(k.adopt(A.id, { counter: 6, members: [A.id, B.id, C.id] }, [A, B], lookup(A, B)), null) // C unknown
    const change = k.reconcile([A, B, C], lookup(A, B, C))
    assert.ok(change)
    assert.equal(change.view.id.endsWith(':6'), true)
    assert.equal(k.isCoordinator, false)
  })

  test('a view from a node that is not our coordinator is ignored', () => {
    const k = new ViewKeeper(C)
    assert.equal(k.adopt(B.id, { counter: 3, members: [B.id, C.id] }, [A, B, C], lookup(A, B, C)), null)
  })

  test('a healed partition merges: the oldest side leads and the view says merged', () => {
    const k = new ViewKeeper(B)
    k.reconcile([B, C], lookup(B, C))
    assert.equal(k.isCoordinator, true)
    const change = k.adopt(
      A.id,
      { counter: 9, members: [A.id, B.id, C.id], sides: [[A.id], [B.id, C.id]] },
      [A, B, C],
      lookup(A, B, C),
    )
    assert.ok(change)
    assert.equal(change.merged, true)
    assert.deepEqual(
      change.others.map((m) => m.id),
      [A.id],
    )
    assert.equal(change.view.coordinator, A.id)
    // and the next view this node makes, should it lead again, counts past what it saw
    const again = k.reconcile([B, C], lookup(B, C))
    assert.ok(again)
    assert.ok(again.view.counter > 9)
  })

  test('a coordinator groups a merged view by the view each member was in; a joiner still joining is in none', () => {
    const D = member('DDDDDDDDdddd', 400)
    const k = new ViewKeeper(A)
    const first = k.reconcile([A, B], lookup(A, B))
    assert.ok(first)
    assert.equal(first.merged, false, 'a plain join (B said no view: still joining)')
    // C led its own view while cut off (or formed apart); D has just started
    k.noteSide(C.id, 'Cccccc:4')
    const change = k.reconcile([A, B, C, D], lookup(A, B, C, D))
    assert.ok(change)
    assert.equal(change.merged, true)
    assert.deepEqual(
      change.others.map((m) => m.id),
      [C.id],
    )
    const wire = k.wire()
    assert.deepEqual(wire?.sides, [[A.id, B.id], [C.id]], 'announced with the view')
    // the members adopting it each see the other side from where they stand
    const onC = new ViewKeeper(C)
    const seenByC = onC.adopt(A.id, wire as NonNullable<typeof wire>, [A, B, C, D], lookup(A, B, C, D))
    assert.deepEqual(
      seenByC?.others.map((m) => m.id),
      [A.id, B.id],
    )
    // D came with no history: it took the coordinator's state, so its other side is C's
    const onD = new ViewKeeper(D)
    const seenByD = onD.adopt(A.id, wire as NonNullable<typeof wire>, [A, B, C, D], lookup(A, B, C, D))
    assert.deepEqual(
      seenByD?.others.map((m) => m.id),
      [C.id],
    )
    // the next view (D leaves) merges nothing
    const next = k.reconcile([A, B, C], lookup(A, B, C))
    assert.equal(next?.merged, false)
    assert.equal(k.wire()?.sides, undefined)
  })

  test('a member removed and heard again, still in an old view, is another side', () => {
    const k = new ViewKeeper(A)
    k.reconcile([A, B, C], lookup(A, B, C))
    const old = k.view.id
    k.reconcile([A, B], lookup(A, B)) // C cut off
    k.noteSide(C.id, old) // C still holds the view from before the cut
    const back = k.reconcile([A, B, C], lookup(A, B, C))
    assert.equal(back?.merged, true)
    assert.deepEqual(
      back?.others.map((m) => m.id),
      [C.id],
    )
  })
})

describe('ViewKeeper: bundled admissions', () => {
  const lookup = (...ms: Member[]) => {
    const map = new Map(ms.map((m) => [m.id, m]))
    return (id: string) => map.get(id)
  }
  const D = member('DDDDDDDDdddd', 400)

  test('joiners heard within the bundling window are admitted in one view when it ends', () => {
    const k = new ViewKeeper(A, { bundling: 100 })
    assert.equal(k.reconcile([A, B], lookup(A, B), 1000), null, 'held back')
    assert.equal(k.admitAt, 1100)
    assert.equal(k.reconcile([A, B, C], lookup(A, B, C), 1050), null, 'the window is from the first joiner')
    const change = k.reconcile([A, B, C], lookup(A, B, C), 1100)
    assert.ok(change)
    assert.deepEqual(
      change.joined.map((m) => m.id),
      [B.id, C.id],
    )
    assert.equal(k.admitAt, null)
    assert.equal(
      k.reconcile([A, B, C, D], lookup(A, B, C, D), 1150),
      null,
      'a later joiner opens a new window',
    )
    assert.equal(k.admitAt, 1250)
  })

  test('a removal is installed at once, and admits whoever waits', () => {
    const k = new ViewKeeper(A, { bundling: 100 })
    k.reconcile([A, B], lookup(A, B), 0)
    k.reconcile([A, B], lookup(A, B), 100)
    assert.equal(k.view.members.length, 2)
    assert.equal(k.reconcile([A, B, C], lookup(A, B, C), 200), null)
    const change = k.reconcile([A, C], lookup(A, C), 210)
    assert.ok(change, 'B removed: no waiting')
    assert.deepEqual(
      change.left.map((m) => m.id),
      [B.id],
    )
    assert.deepEqual(
      change.joined.map((m) => m.id),
      [C.id],
    )
    assert.equal(k.admitAt, null)
  })

  test('a joiner gone before its window ends leaves nothing waiting', () => {
    const k = new ViewKeeper(A, { bundling: 100 })
    assert.equal(k.reconcile([A, B], lookup(A, B), 0), null)
    assert.equal(k.reconcile([A], lookup(A), 50), null)
    assert.equal(k.admitAt, null)
  })

  test('a member that takes over from a lost coordinator installs at once', () => {
    const k = new ViewKeeper(B, { bundling: 100 })
    assert.ok(k.adopt(A.id, { counter: 4, members: [A.id, B.id] }, [A, B], lookup(A, B)))
    const change = k.reconcile([B, C], lookup(B, C), 0)
    assert.ok(change, 'not yet coordinator: nothing is held back')
    assert.equal(change.view.coordinator, B.id)
  })
})
