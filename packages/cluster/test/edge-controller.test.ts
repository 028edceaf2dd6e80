import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { silentLogger } from '@meshcast/interface'
import type { DownReason, Relay, RelayPort } from '../src/index.ts'
import { EdgeController, type EdgeSettings, StreamBook } from '../src/index.ts'
import { advert, member } from './fixtures.ts'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** A relay port that records what the controller asks; urls listed in `dead` refuse. */
class FakePort implements RelayPort {
  readonly opened: string[] = []
  readonly pulls: string[] = []
  readonly kicked: string[] = []
  readonly closed: { path: string; kick: boolean }[] = []
  readonly dead = new Set<string>()
  /** pulls of these urls wait for the promise (media not yet flowing) */
  readonly gates = new Map<string, Promise<void>>()
  readonly players = new Map<string, number>()
  readonly downs = new Map<string, (reason: DownReason, detail: string) => void>()

  open(path: string): Relay {
    this.opened.push(path)
    return {
      path,
      pull: async (url) => {
        this.pulls.push(url)
        await sleep(1)
        await this.gates.get(url)
        if (this.dead.has(url)) throw new Error('connection refused')
      },
      onDown: (fn) => this.downs.set(path, fn),
      close: (kick) => this.closed.push({ path, kick }),
    }
  }
  subscribers(path: string): number {
    return this.players.get(path) ?? 0
  }
  published(): boolean {
    return false
  }
  kick(path: string): void {
    this.kicked.push(path)
  }
}

const o1 = member('n1')
const o2 = member('n2')
const url = (n: number, path = '/live/a') => `rtmp://10.0.0.${n}:1935${path}`

function setup(over: Partial<EdgeSettings> = {}) {
  const book = new StreamBook(silentLogger)
  const port = new FakePort()
  const settings: EdgeSettings = {
    selfId: 'edge',
    origins: [],
    streamOnDemand: false,
    lingerMs: 50,
    waitMs: 80,
    retryMs: 10_000,
    kickOnUnpublish: false,
    ...over,
  }
  const edge = new EdgeController(settings, book, port, silentLogger)
  edge.start()
  return { book, port, edge }
}

describe('edge controller', () => {
  test('repeats an advertised stream at once; on loss switches to the other origin, one relay throughout', async (t) => {
    const { book, port, edge } = setup()
    t.after(() => edge.stop())
    book.set(o1, [advert(o1, '/live/a', { since: 1 })])
    book.set(o2, [advert(o2, '/live/a', { since: 2 })])
    await sleep(10)
    assert.deepEqual(port.opened, ['/live/a'])
    assert.deepEqual(port.pulls, [url(1)])
    port.dead.add(url(1))
    port.downs.get('/live/a')?.('closed', 'socket closed')
    await sleep(10)
    assert.deepEqual(port.pulls, [url(1), url(2)])
    assert.deepEqual(port.opened, ['/live/a'], 'no second relay for the same stream')
    assert.equal(edge.pulls()[0]?.upstream?.node, 'n2')
  })

  test('with no alternative it waits; the advert coming back restarts the pull before the retry timer', async (t) => {
    const { book, port, edge } = setup({ retryMs: 60_000 })
    t.after(() => edge.stop())
    book.set(o1, [advert(o1, '/live/a')])
    await sleep(10)
    port.downs.get('/live/a')?.('stalled', 'no media for 2 s')
    book.set(o1, [])
    await sleep(10)
    assert.equal(edge.pulls()[0]?.upstream, null)
    book.set(o1, [advert(o1, '/live/a', { since: 5 })])
    await sleep(10)
    assert.deepEqual(port.pulls, [url(1), url(1)], 'once at first, once when the advert came back')
    assert.equal(edge.pulls()[0]?.upstream?.node, 'n1')
  })

  test('a withdrawn advert is a lost upstream (the origin may hold a dead stream open)', async (t) => {
    const { book, port, edge } = setup()
    t.after(() => edge.stop())
    book.set(o1, [advert(o1, '/live/a', { since: 1 })])
    await sleep(10)
    book.set(o2, [advert(o2, '/live/a', { since: 2 })])
    book.set(o1, [])
    await sleep(10)
    assert.deepEqual(port.pulls, [url(1), url(2)])
    assert.equal(edge.pulls()[0]?.upstream?.node, 'n2')
  })

  test('on demand: the first player starts the pull, which ends a linger after the last leaves', async (t) => {
    const { book, port, edge } = setup({ streamOnDemand: true })
    t.after(() => edge.stop())
    book.set(o1, [advert(o1, '/live/a')])
    await sleep(10)
    assert.deepEqual(port.opened, [], 'nobody watches yet')
    port.players.set('/live/a', 1)
    edge.played('/live/a')
    await sleep(10)
    assert.deepEqual(port.pulls, [url(1)])
    port.players.set('/live/a', 0)
    edge.stopped('/live/a')
    await sleep(20)
    assert.equal(port.closed.length, 0, 'still lingering')
    await sleep(60)
    assert.deepEqual(port.closed, [{ path: '/live/a', kick: false }])
  })

  test('a player waiting for a stream nobody publishes is let go after waitMs', async (t) => {
    const { port, edge } = setup({ streamOnDemand: true })
    t.after(() => edge.stop())
    port.players.set('/live/none', 1)
    edge.played('/live/none')
    await sleep(120)
    assert.deepEqual(port.kicked, ['/live/none'])
  })

  test('a player that arrives first starts when the stream is published', async (t) => {
    const { book, port, edge } = setup({ streamOnDemand: true })
    t.after(() => edge.stop())
    port.players.set('/live/a', 1)
    edge.played('/live/a')
    await sleep(10)
    book.set(o1, [advert(o1, '/live/a')])
    await sleep(10)
    assert.deepEqual(port.pulls, [url(1)])
    await sleep(100)
    assert.deepEqual(port.kicked, [], 'the wait ended when the stream came')
  })

  test('kickOnUnpublish ends the players when the stream ends with no alternative', async (t) => {
    const { book, port, edge } = setup({ kickOnUnpublish: true })
    t.after(() => edge.stop())
    book.set(o1, [advert(o1, '/live/a')])
    await sleep(10)
    port.dead.add(url(1))
    port.downs.get('/live/a')?.('unpublished', 'stream ended')
    await sleep(10)
    assert.deepEqual(port.closed, [{ path: '/live/a', kick: true }])
  })

  test('prefers a listed origin as soon as it has the stream; never pulls from a chain through itself', async (t) => {
    const { book, port, edge } = setup({ origins: [{ host: '10.0.0.2', port: 1935 }] })
    t.after(() => edge.stop())
    const r3 = member('n3', { role: 'relay' })
    book.set(r3, [advert(r3, '/live/a', { source: 'relay', via: ['edge', 'n1'] })])
    book.set(o1, [advert(o1, '/live/a')])
    await sleep(10)
    assert.deepEqual(port.pulls, [url(1)], 'not from n3, whose stream comes through this node')
    book.set(o2, [advert(o2, '/live/a')])
    await sleep(10)
    assert.deepEqual(port.pulls, [url(1), url(2)])
    assert.equal(edge.pulls()[0]?.upstream?.node, 'n2')
  })

  test('a withdrawn advert with another upstream: the old one stays the upstream until the new one delivers', async (t) => {
    const { book, port, edge } = setup()
    t.after(() => edge.stop())
    book.set(o1, [advert(o1, '/live/a', { since: 1 })])
    book.set(o2, [advert(o2, '/live/a', { since: 2 })])
    await sleep(10)
    const { promise: media, resolve: deliver } = Promise.withResolvers<void>()
    port.gates.set(url(2), media)
    book.set(o1, []) // n1 shuts down: it withdraws first, and still feeds
    await sleep(10)
    assert.deepEqual(port.pulls, [url(1), url(2)])
    assert.equal(edge.pulls()[0]?.upstream?.node, 'n1', 'n1 still feeds while n2 has sent nothing')
    deliver()
    await sleep(10)
    assert.equal(edge.pulls()[0]?.upstream?.node, 'n2')
    assert.deepEqual(edge.counters(), { started: 1, failed: 0, failovers: 1 })
  })

  test('a withdrawn advert whose alternatives all fail is a lost upstream', async (t) => {
    const { book, port, edge } = setup({ retryMs: 60_000 })
    t.after(() => edge.stop())
    book.set(o1, [advert(o1, '/live/a', { since: 1 })])
    book.set(o2, [advert(o2, '/live/a', { since: 2 })])
    await sleep(10)
    port.dead.add(url(2))
    book.set(o1, [])
    await sleep(10)
    assert.equal(edge.pulls()[0]?.upstream, null)
    assert.deepEqual(edge.counters(), { started: 1, failed: 1, failovers: 0 })
  })

  test('counts pulls started, failed attempts and failovers; a preferred origin is an upgrade, not a failover', async (t) => {
    const { book, port, edge } = setup({ origins: [{ host: '10.0.0.3', port: 1935 }] })
    t.after(() => edge.stop())
    const o3 = member('n3')
    port.dead.add(url(1))
    book.set(o1, [advert(o1, '/live/a', { since: 1 })])
    book.set(o2, [advert(o2, '/live/a', { since: 2 })])
    await sleep(10)
    assert.deepEqual(edge.counters(), { started: 1, failed: 1, failovers: 0 }, 'n1 refused, n2 feeds')
    book.set(o3, [advert(o3, '/live/a', { since: 3 })])
    await sleep(10)
    assert.equal(edge.pulls()[0]?.upstream?.node, 'n3')
    assert.deepEqual(
      edge.counters(),
      { started: 1, failed: 1, failovers: 0 },
      'the upgrade to n3 is no failover',
    )
    port.dead.delete(url(1))
    port.downs.get('/live/a')?.('closed', 'socket closed')
    await sleep(10)
    assert.deepEqual(edge.counters(), { started: 1, failed: 1, failovers: 1 })
  })

  test('a preferred origin that advertises while the edge connects elsewhere is taken once that connect ends', async (t) => {
    const { book, port, edge } = setup({ origins: [{ host: '10.0.0.1', port: 1935 }] })
    t.after(() => edge.stop())
    let open = () => {}
    port.gates.set(
      url(2),
      new Promise<void>((r) => {
        open = r
      }),
    )
    book.set(o2, [advert(o2, '/live/a', { since: 2 })])
    await sleep(10)
    assert.deepEqual(port.pulls, [url(2)], 'connecting to n2, the only one')
    book.set(o1, [advert(o1, '/live/a', { since: 1 })])
    await sleep(10)
    open()
    await sleep(10)
    assert.deepEqual(port.pulls, [url(2), url(1)])
    assert.equal(edge.pulls()[0]?.upstream?.node, 'n1', 'on the listed origin')
  })
})
