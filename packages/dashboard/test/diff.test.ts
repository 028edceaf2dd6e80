import assert from 'node:assert/strict'
import { test } from 'node:test'
import { busRates, diffSnapshots, type EndedPulls, forgetEnded, shortId } from '../src/index.ts'
import { member, snapshot, stream } from './helpers.ts'

const O1 = member('origin1', 'origin', { coordinator: true })
const O2 = member('origin2', 'origin')
const E1 = member('edge1', 'edge')

const texts = (events: { text: string }[]) => events.map((e) => e.text)

test('a member that joins or leaves, and a new coordinator, are events', () => {
  const a = snapshot(1, [O1, E1])
  const b = snapshot(2, [{ ...O2, coordinator: true }, E1])
  assert.deepEqual(texts(diffSnapshots(a, b)), [
    'origin origin2 joined (http origin2:5080)',
    'origin origin1 left',
    'origin origin2 is the coordinator now',
  ])
})

test('a stream published and unpublished on an origin is an event', () => {
  const none = snapshot(1, [O1])
  const live = snapshot(2, [O1], [stream('origin1')])
  assert.deepEqual(texts(diffSnapshots(none, live)), ['/live/a published on origin origin1'])
  assert.deepEqual(texts(diffSnapshots(live, snapshot(3, [O1]))), [
    '/live/a no longer published on origin origin1',
  ])
})

test('an edge that starts pulling, switches upstream, and stops is a pull, a failover and a pull event', () => {
  const ms = [O1, O2, E1]
  const s0 = snapshot(1, ms, [stream('origin1')])
  const s1 = snapshot(2, ms, [stream('origin1', [['edge1', 'origin1']])])
  const s2 = snapshot(3, ms, [stream('origin1', [['edge1', 'origin2']])])
  assert.deepEqual(texts(diffSnapshots(s0, s1)), ['edge edge1 pulls /live/a from origin origin1'])
  const [switched] = diffSnapshots(s1, s2)
  assert.equal(switched?.kind, 'failover')
  assert.equal(switched?.text, 'edge edge1 switched /live/a from origin origin1 to origin origin2')
  assert.deepEqual(texts(diffSnapshots(s2, s0)), [
    'edge edge1 no longer pulls /live/a (it came from origin origin2)',
  ])
})

test('a foreign origin (rtmp://host:port, not on the mesh) is named as one in pulls and failovers', () => {
  const ms = [O1, E1]
  const s0 = snapshot(1, ms, [stream('origin1')])
  const s1 = snapshot(2, ms, [stream('origin1', [['edge1', 'rtmp://127.0.0.9:1935']])])
  const s2 = snapshot(3, ms, [stream('origin1', [['edge1', 'origin1']])])
  assert.deepEqual(texts(diffSnapshots(s0, s1)), [
    'edge edge1 pulls /live/a from foreign origin 127.0.0.9:1935',
  ])
  assert.deepEqual(texts(diffSnapshots(s1, s2)), [
    'edge edge1 switched /live/a from foreign origin 127.0.0.9:1935 to origin origin1',
  ])
})

test('a pull that vanishes while it reconnects and returns from another upstream is one failover', () => {
  const ms = [O1, O2, E1]
  const ended: EndedPulls = new Map()
  const before = snapshot(1, ms, [stream('origin1', [['edge1', 'origin1']])])
  const gone = snapshot(2, ms, [stream('origin1')])
  const back = snapshot(3, ms, [stream('origin1', [['edge1', 'origin2']])])
  diffSnapshots(before, gone, ended)
  const events = diffSnapshots(gone, back, ended)
  assert.deepEqual(
    events.map((e) => e.kind),
    ['failover'],
  )
  assert.equal(ended.size, 0, 'the ended pull is forgotten once it is back')
})

test('ended pulls are forgotten after a while', () => {
  const ended: EndedPulls = new Map([['edge1 /live/a', { upstream: 'origin1', at: 0 }]])
  forgetEnded(ended, 10_000)
  assert.equal(ended.size, 1)
  forgetEnded(ended, 60_000)
  assert.equal(ended.size, 0)
})

test('bus rates are messages per second between snapshots', () => {
  const a = snapshot(1000, [O1], [], 100)
  const b = snapshot(3000, [O1], [], 300)
  assert.deepEqual(busRates(a, b), { sent: 100, delivered: 100, retransmitted: 0, dropped: 0 })
  assert.deepEqual(busRates(b, b), { sent: 0, delivered: 0, retransmitted: 0, dropped: 0 })
})

test('shortId drops the common peer-id prefix', () => {
  assert.equal(shortId('12D3KooWQ955DeCUtTt472nU'), 'Q955DeCU')
  assert.equal(shortId('abc'), 'abc')
})
