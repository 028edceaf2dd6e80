import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { silentLogger } from '@meshcast/interface'
import { awaitDrain, DRAINING_KEY, pullingFrom, RoundRobin, StreamBook } from '../src/index.ts'
import { advert, member } from './fixtures.ts'

const origin = member('n1')
const other = member('n2')
const edge = member('n3', { role: 'edge' })
const relay = member('n4', { role: 'relay' })

/** A book where the edge pulls /live/a from n1 and the relay pulls /live/b from n1. */
function bookPullingFromN1(): StreamBook {
  const book = new StreamBook(silentLogger)
  book.set(origin, [advert(origin, '/live/a'), advert(origin, '/live/b')])
  book.set(other, [advert(other, '/live/a')])
  book.set(edge, [advert(edge, '/live/a', { source: 'edge', via: ['n1'] })])
  book.set(relay, [advert(relay, '/live/b', { source: 'relay', via: ['n1'] })])
  return book
}

describe('draining: waiting for the nodes that pull from a node shutting down', () => {
  test('names the members whose adverts have the node as their upstream, not further down a chain', () => {
    const book = bookPullingFromN1()
    const e5 = member('n5', { role: 'edge' })
    book.set(e5, [advert(e5, '/live/b', { source: 'edge', via: ['n4', 'n1'] })])
    assert.deepEqual(
      pullingFrom(book, 'n1').map((c) => c.member.id),
      ['n3', 'n4'],
    )
    assert.deepEqual(
      pullingFrom(book, 'n4').map((c) => c.member.id),
      ['n5'],
    )
  })

  test('resolves at once when nobody pulls from the node', async () => {
    const result = await awaitDrain(bookPullingFromN1(), 'n2', 10_000)
    assert.deepEqual({ drained: result.drained, waiting: result.waiting }, { drained: true, waiting: [] })
  })

  test('resolves when the last puller switched away or left the view', async () => {
    const book = bookPullingFromN1()
    const waiting = awaitDrain(book, 'n1', 10_000)
    book.set(edge, [advert(edge, '/live/a', { source: 'edge', via: ['n2'] })]) // switched to n2
    book.remove('n4') // the relay left
    const result = await waiting
    assert.equal(result.drained, true)
    assert.ok(result.ms < 1000, `${result.ms} ms`)
  })

  test('an edge with no alternative stops advertising the stream: that also ends the wait', async () => {
    const book = bookPullingFromN1()
    const waiting = awaitDrain(book, 'n1', 10_000)
    book.set(edge, [])
    book.set(relay, [])
    assert.equal((await waiting).drained, true)
  })

  test('gives up after the timeout, naming who still pulls', async () => {
    const result = await awaitDrain(bookPullingFromN1(), 'n1', 30)
    assert.equal(result.drained, false)
    assert.deepEqual(result.waiting, ['n3', 'n4'])
    assert.ok(result.ms >= 25, `${result.ms} ms`)
  })
})

describe('round robin skips draining members', () => {
  test('GET /cluster never names a node shutting down, with or without a stream', () => {
    const rr = new RoundRobin()
    const book = new StreamBook(silentLogger)
    const leaving = member('n1', { role: 'edge', data: { [DRAINING_KEY]: true } })
    const staying = member('n2', { role: 'edge', load: { subscribers: 50, streams: 1 } })
    book.set(leaving, [advert(leaving, '/live/a', { source: 'edge' })])
    const named = Array.from({ length: 4 }, () => {
      const r = rr.next([leaving, staying], book)
      return r.ok ? r.route.nodeId : r.message
    })
    assert.deepEqual(named, ['n2', 'n2', 'n2', 'n2'])
    const routed = rr.next([leaving, staying], book, 'live/a')
    assert.ok(routed.ok)
    if (routed.ok)
      assert.equal(routed.route.nodeId, 'n2', 'the busier node that is staying, over the one leaving')
    const none = rr.next([leaving], book)
    assert.equal(none.ok, false)
    if (!none.ok) assert.equal(none.status, 503)
  })
})
