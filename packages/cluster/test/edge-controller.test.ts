import assert from 'node:assert/strict'
import { describe, type TestContext, test } from 'node:test'
import { type RelayEvents, SafeEmitter, silentLogger, UpstreamResumedError } from '@meshcast/interface'
import type { DownReason, Relay, RelayPort } from '../src/index.ts'
import { EdgeController, type EdgeSettings, repullDelay, StreamBook } from '../src/index.ts'
import { advert, member } from './fixtures.ts'

// Time is node:test's mocked clock (setTimeout and Date): no test waits on a real timer. Pulls
// move on in microtasks; `flushMicrotasks` lets them, `advance` moves the clock a millisecond at a time.

/** Lets every promise under way run on (the relay port answers in microtasks). */
const flushMicrotasks = () => new Promise<void>((r) => setImmediate(r))

/** Moves the mocked clock on by `ms`, a millisecond at a time, letting pulls move on in between. */
async function advance(t: TestContext, ms: number): Promise<void> {
  for (let i = 0; i < ms; i++) {
    t.mock.timers.tick(1)
    await flushMicrotasks()
  }
}

/** Advances the mocked clock until `check` holds, failing after `ms` of it. */
async function until(t: TestContext, check: () => boolean, what: string, ms = 2000): Promise<void> {
  await flushMicrotasks()
  for (let i = 0; !check(); i++) {
    if (i >= ms) assert.fail(`not within ${ms} ms (mocked): ${what}`)
    await advance(t, 1)
  }
}

/** A relay port that records what the controller asks; urls listed in `dead` refuse. */
class FakePort implements RelayPort {
  readonly opened: string[] = []
  readonly pulls: string[] = []
  readonly kicked: string[] = []
  readonly closed: { path: string; kick: boolean }[] = []
  readonly dead = new Set<string>()
  /** the pulls `dead` refused, in order */
  readonly refused: string[] = []
  /** pulls of these urls throw at once (a relay breaking its contract) instead of rejecting */
  readonly throwing = new Set<string>()
  /** the next pull of each of these urls ends as given up: the quiet upstream resumed first */
  readonly resumes = new Set<string>()
  /** when each pull was asked for (ms since the epoch) */
  readonly times: number[] = []
  /** pulls of these urls wait for the promise (media not yet flowing) */
  readonly gates = new Map<string, Promise<void>>()
  readonly players = new Map<string, number>()
  readonly downs = new Map<string, (reason: DownReason, detail: string) => void>()
  readonly quiets = new Map<string, (detail: string) => void>()

  open(path: string): Relay {
    this.opened.push(path)
    const events = new SafeEmitter<RelayEvents>((err) => {
      throw err
    })
    // what the test makes the relay report
    this.downs.set(path, (reason, detail) => events.emit('down', { reason, detail }))
    this.quiets.set(path, (detail) => events.emit('quiet', { detail }))
    return {
      path,
      events,
      pull: (url) => {
        if (this.throwing.delete(url)) throw new Error('thrown, not rejected')
        return this.#pull(url)
      },
      close: (kick) => this.closed.push({ path, kick }),
    }
  }
  async #pull(url: string): Promise<void> {
    this.pulls.push(url)
    this.times.push(Date.now())
    await this.gates.get(url)
    if (this.resumes.delete(url)) throw new UpstreamResumedError(url)
    if (this.dead.has(url)) {
      this.refused.push(url)
      throw new Error('connection refused')
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

function setup(t: TestContext, over: Partial<EdgeSettings> = {}) {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 })
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
  test('an event an effect brings at once waits for the other effects: no stray retry timer pulls a live stream again', async (t) => {
    const { book, port, edge } = setup(t, { retryMs: 10_000 })
    t.after(() => edge.stop())
    book.set(o1, [advert(o1, '/live/a')])
    await flushMicrotasks()
    // a change listener that makes an advert at once: the loss's own effects (arm the retry) are not done yet
    let once = true
    edge.events.on('change', () => {
      if (!once) return
      once = false
      book.set(o2, [advert(o2, '/live/a')])
    })
    port.dead.add(url(1))
    port.downs.get('/live/a')?.('closed', 'socket closed')
    await flushMicrotasks()
    assert.equal(edge.pulls()[0]?.upstream?.node, 'n2')
    const before = port.pulls.length
    await advance(t, 10_100)
    assert.deepEqual(port.pulls.slice(before), [], 'nothing pulled while n2 feeds')
  })

  test('a relay whose pull throws instead of rejecting: a failed attempt, then the next candidate', async (t) => {
    const { book, port, edge } = setup(t)
    t.after(() => edge.stop())
    port.throwing.add(url(1))
    book.set(o1, [advert(o1, '/live/a', { since: 1 })])
    book.set(o2, [advert(o2, '/live/a', { since: 2 })])
    await flushMicrotasks()
    assert.equal(edge.pulls()[0]?.upstream?.node, 'n2')
    assert.equal(edge.counters().failed, 1)
  })

  test('an upstream that withdrew while its quiet spell was being covered is left once it resumes', async (t) => {
    const { book, port, edge } = setup(t)
    t.after(() => edge.stop())
    book.set(o1, [advert(o1, '/live/a', { since: 1 })])
    book.set(o2, [advert(o2, '/live/a', { since: 2 })])
    await flushMicrotasks()
    const media = Promise.withResolvers<void>()
    port.gates.set(url(2), media.promise)
    port.resumes.add(url(2))
    port.quiets.get('/live/a')?.('no media for 264 ms')
    await flushMicrotasks()
    book.set(o1, []) // withdrawn while the alternative is tried: decided when that attempt ends
    media.resolve() // and that attempt ends as given up: n1 resumed first
    await flushMicrotasks()
    assert.equal(
      edge.pulls()[0]?.upstream?.node,
      'n2',
      'not kept on an upstream that no longer offers the stream',
    )
  })

  test("a closed pull's late attempt result does not reach the next pull of the same path", async (t) => {
    const { book, port, edge } = setup(t, { streamOnDemand: true })
    t.after(() => edge.stop())
    book.set(o1, [advert(o1, '/live/a')])
    const first = Promise.withResolvers<void>()
    port.gates.set(url(1), first.promise)
    port.players.set('/live/a', 1)
    edge.played('/live/a')
    await flushMicrotasks()
    // the player leaves before the first pull delivers: the pull lingers out and closes
    port.players.set('/live/a', 0)
    edge.stopped('/live/a')
    await advance(t, 60)
    assert.deepEqual(port.closed, [{ path: '/live/a', kick: false }])
    // a new player: a new pull of the path, its own attempt still under way
    const second = Promise.withResolvers<void>()
    port.gates.set(url(1), second.promise)
    port.players.set('/live/a', 1)
    edge.played('/live/a')
    await flushMicrotasks()
    assert.deepEqual(port.opened, ['/live/a', '/live/a'])
    first.resolve() // the closed relay's pull ends now
    await flushMicrotasks()
    assert.equal(edge.pulls()[0]?.upstream, null, "the old relay's media is not the new pull's")
    second.resolve()
    await flushMicrotasks()
    assert.equal(edge.pulls()[0]?.upstream?.node, 'n1')
    assert.equal(edge.counters().started, 1)
  })

  test('repeats an advertised stream at once; on loss switches to the other origin, one relay throughout', async (t) => {
    const { book, port, edge } = setup(t)
    t.after(() => edge.stop())
    book.set(o1, [advert(o1, '/live/a', { since: 1 })])
    book.set(o2, [advert(o2, '/live/a', { since: 2 })])
    await flushMicrotasks()
    assert.deepEqual(port.opened, ['/live/a'])
    assert.deepEqual(port.pulls, [url(1)])
    port.dead.add(url(1))
    port.downs.get('/live/a')?.('closed', 'socket closed')
    await flushMicrotasks()
    assert.deepEqual(port.pulls, [url(1), url(2)])
    assert.deepEqual(port.opened, ['/live/a'], 'no second relay for the same stream')
    assert.equal(edge.pulls()[0]?.upstream?.node, 'n2')
  })

  test('with no alternative it waits; the advert coming back restarts the pull before the retry timer', async (t) => {
    const { book, port, edge } = setup(t, { retryMs: 60_000 })
    t.after(() => edge.stop())
    book.set(o1, [advert(o1, '/live/a')])
    await flushMicrotasks()
    port.downs.get('/live/a')?.('stalled', 'no media for 2 s')
    book.set(o1, [])
    await flushMicrotasks()
    assert.equal(edge.pulls()[0]?.upstream, null)
    book.set(o1, [advert(o1, '/live/a', { since: 5 })])
    await flushMicrotasks()
    assert.deepEqual(port.pulls, [url(1), url(1)], 'once at first, once when the advert came back')
    assert.equal(edge.pulls()[0]?.upstream?.node, 'n1')
  })

  test('a withdrawn advert is a lost upstream (the origin may hold a dead stream open)', async (t) => {
    const { book, port, edge } = setup(t)
    t.after(() => edge.stop())
    book.set(o1, [advert(o1, '/live/a', { since: 1 })])
    await flushMicrotasks()
    book.set(o2, [advert(o2, '/live/a', { since: 2 })])
    book.set(o1, [])
    await flushMicrotasks()
    assert.deepEqual(port.pulls, [url(1), url(2)])
    assert.equal(edge.pulls()[0]?.upstream?.node, 'n2')
  })

  test('on demand: the first player starts the pull, which ends a linger after the last leaves', async (t) => {
    const { book, port, edge } = setup(t, { streamOnDemand: true })
    t.after(() => edge.stop())
    book.set(o1, [advert(o1, '/live/a')])
    await flushMicrotasks()
    assert.deepEqual(port.opened, [], 'nobody watches yet')
    port.players.set('/live/a', 1)
    edge.played('/live/a')
    await flushMicrotasks()
    assert.deepEqual(port.pulls, [url(1)])
    port.players.set('/live/a', 0)
    edge.stopped('/live/a')
    await advance(t, 20)
    assert.equal(port.closed.length, 0, 'still lingering')
    await advance(t, 60)
    assert.deepEqual(port.closed, [{ path: '/live/a', kick: false }])
  })

  test('a player waiting for a stream nobody publishes is let go after waitMs', async (t) => {
    const { port, edge } = setup(t, { streamOnDemand: true })
    t.after(() => edge.stop())
    port.players.set('/live/none', 1)
    edge.played('/live/none')
    await advance(t, 120)
    assert.deepEqual(port.kicked, ['/live/none'])
  })

  test('a player that arrives first starts when the stream is published', async (t) => {
    const { book, port, edge } = setup(t, { streamOnDemand: true })
    t.after(() => edge.stop())
    port.players.set('/live/a', 1)
    edge.played('/live/a')
    await flushMicrotasks()
    book.set(o1, [advert(o1, '/live/a')])
    await flushMicrotasks()
    assert.deepEqual(port.pulls, [url(1)])
    await advance(t, 100)
    assert.deepEqual(port.kicked, [], 'the wait ended when the stream came')
  })

  test('kickOnUnpublish ends the players when the stream ends with no alternative', async (t) => {
    const { book, port, edge } = setup(t, { kickOnUnpublish: true })
    t.after(() => edge.stop())
    book.set(o1, [advert(o1, '/live/a')])
    await flushMicrotasks()
    port.dead.add(url(1))
    port.downs.get('/live/a')?.('unpublished', 'stream ended')
    await flushMicrotasks()
    assert.deepEqual(port.closed, [{ path: '/live/a', kick: true }])
  })

  test('prefers a listed origin as soon as it has the stream; never pulls from a chain through itself', async (t) => {
    const { book, port, edge } = setup(t, { origins: [{ host: '10.0.0.2', port: 1935 }] })
    t.after(() => edge.stop())
    const r3 = member('n3', { role: 'relay' })
    book.set(r3, [advert(r3, '/live/a', { source: 'relay', via: ['edge', 'n1'] })])
    book.set(o1, [advert(o1, '/live/a')])
    await flushMicrotasks()
    assert.deepEqual(port.pulls, [url(1)], 'not from n3, whose stream comes through this node')
    book.set(o2, [advert(o2, '/live/a')])
    await flushMicrotasks()
    assert.deepEqual(port.pulls, [url(1), url(2)])
    assert.equal(edge.pulls()[0]?.upstream?.node, 'n2')
  })

  test('an origins DNS name: a member at an address it resolves to is preferred once the name is resolved', async (t) => {
    const { book, port, edge } = setup(t, { origins: [{ host: 'origins.test', port: 1935 }] })
    t.after(() => edge.stop())
    book.set(o1, [advert(o1, '/live/a')])
    book.set(o2, [advert(o2, '/live/a')])
    await flushMicrotasks()
    const first = edge.pulls()[0]?.upstream?.node
    const other = first === 'n1' ? 'n2' : 'n1'
    edge.setOriginAddresses(new Map([['origins.test', [`10.0.0.${other.slice(1)}`]]]))
    await flushMicrotasks()
    assert.equal(edge.pulls()[0]?.upstream?.node, other)
    assert.equal(port.pulls.length, 2)
  })

  test('an upstream booked first at a wildcard address, then where an origins name points, is kept: no reconnect', async (t) => {
    const { book, port, edge } = setup(t, { origins: [{ host: 'origins.test', port: 1935 }] })
    t.after(() => edge.stop())
    // a zero-config member: publicIp and mesh address are wildcards until the mesh knows better
    const wild = member('n1', { publicIp: '0.0.0.0', mesh: '0.0.0.0:7800' })
    book.set(wild, [advert(wild, '/live/a')])
    await flushMicrotasks()
    assert.equal(port.pulls.length, 1)
    edge.setOriginAddresses(new Map([['origins.test', ['10.0.0.1']]]))
    // the node books it at the address its mesh connection comes from; its advert is unchanged
    book.set(member('n1'), [advert(wild, '/live/a')])
    edge.setOriginAddresses(new Map([['origins.test', ['10.0.0.1']]]))
    await flushMicrotasks()
    assert.equal(edge.pulls()[0]?.upstream?.node, 'n1')
    assert.equal(port.pulls.length, 1, 'the pull stays on the member it already had')
  })

  test('a withdrawn advert with another upstream: the old one stays the upstream until the new one delivers', async (t) => {
    const { book, port, edge } = setup(t)
    t.after(() => edge.stop())
    book.set(o1, [advert(o1, '/live/a', { since: 1 })])
    book.set(o2, [advert(o2, '/live/a', { since: 2 })])
    await flushMicrotasks()
    const { promise: media, resolve: deliver } = Promise.withResolvers<void>()
    port.gates.set(url(2), media)
    book.set(o1, []) // n1 shuts down: it withdraws first, and still feeds
    await flushMicrotasks()
    assert.deepEqual(port.pulls, [url(1), url(2)])
    assert.equal(edge.pulls()[0]?.upstream?.node, 'n1', 'n1 still feeds while n2 has sent nothing')
    deliver()
    await flushMicrotasks()
    assert.equal(edge.pulls()[0]?.upstream?.node, 'n2')
    assert.deepEqual(edge.counters(), { started: 1, failed: 0, failovers: 1, ignoredCopies: 0 })
  })

  test('a withdrawn advert whose alternatives all fail is a lost upstream', async (t) => {
    const { book, port, edge } = setup(t, { retryMs: 60_000 })
    t.after(() => edge.stop())
    book.set(o1, [advert(o1, '/live/a', { since: 1 })])
    book.set(o2, [advert(o2, '/live/a', { since: 2 })])
    await flushMicrotasks()
    port.dead.add(url(2))
    book.set(o1, [])
    await flushMicrotasks()
    assert.equal(edge.pulls()[0]?.upstream, null)
    assert.deepEqual(edge.counters(), { started: 1, failed: 1, failovers: 0, ignoredCopies: 0 })
  })

  test('counts pulls started, failed attempts and failovers; a preferred origin is an upgrade, not a failover', async (t) => {
    const { book, port, edge } = setup(t, { origins: [{ host: '10.0.0.3', port: 1935 }] })
    t.after(() => edge.stop())
    const o3 = member('n3')
    port.dead.add(url(1))
    book.set(o1, [advert(o1, '/live/a', { since: 1 })])
    book.set(o2, [advert(o2, '/live/a', { since: 2 })])
    await flushMicrotasks()
    assert.deepEqual(
      edge.counters(),
      { started: 1, failed: 1, failovers: 0, ignoredCopies: 0 },
      'n1 refused, n2 feeds',
    )
    book.set(o3, [advert(o3, '/live/a', { since: 3 })])
    await flushMicrotasks()
    assert.equal(edge.pulls()[0]?.upstream?.node, 'n3')
    assert.deepEqual(
      edge.counters(),
      { started: 1, failed: 1, failovers: 0, ignoredCopies: 0 },
      'the upgrade to n3 is no failover',
    )
    port.dead.delete(url(1))
    port.downs.get('/live/a')?.('closed', 'socket closed')
    await flushMicrotasks()
    assert.deepEqual(edge.counters(), { started: 1, failed: 1, failovers: 1, ignoredCopies: 0 })
  })

  test('a preferred origin that advertises while the edge connects elsewhere is taken once that connect ends', async (t) => {
    const { book, port, edge } = setup(t, { origins: [{ host: '10.0.0.1', port: 1935 }] })
    t.after(() => edge.stop())
    let open = () => {}
    port.gates.set(
      url(2),
      new Promise<void>((r) => {
        open = r
      }),
    )
    book.set(o2, [advert(o2, '/live/a', { since: 2 })])
    await flushMicrotasks()
    assert.deepEqual(port.pulls, [url(2)], 'connecting to n2, the only one')
    book.set(o1, [advert(o1, '/live/a', { since: 1 })])
    await flushMicrotasks()
    open()
    await flushMicrotasks()
    assert.deepEqual(port.pulls, [url(2), url(1)])
    assert.equal(edge.pulls()[0]?.upstream?.node, 'n1', 'on the listed origin')
  })
})

describe('edge controller: foreign origins (no meshcast node behind the address)', () => {
  const nginx = { host: '10.0.0.9', port: 1935 }
  const nginx2 = { host: '10.0.0.8', port: 1936 }
  const foreign = (o: { host: string; port: number }, path = '/live/a') => `rtmp://${o.host}:${o.port}${path}`

  test('a played stream is pulled from a foreign origin over plain RTMP, by the name asked; pulls() says foreign', async (t) => {
    const { port, edge } = setup(t, { origins: [nginx] })
    t.after(() => edge.stop())
    edge.setForeign([nginx])
    await flushMicrotasks()
    assert.deepEqual(port.opened, [], 'no adverts: nothing is repeated before a player asks')
    port.players.set('/live/cam', 1)
    edge.played('/live/cam')
    await flushMicrotasks()
    assert.deepEqual(port.pulls, [foreign(nginx, '/live/cam')])
    assert.deepEqual(edge.pulls()[0]?.upstream, {
      node: 'rtmp://10.0.0.9:1935',
      rtmpUrl: 'rtmp://10.0.0.9:1935/live/cam',
      via: [],
      foreign: true,
      owner: null,
    })
  })

  test('the origins list order rules: a foreign origin listed first, then a meshcast origin; on its loss the edge switches, one relay throughout', async (t) => {
    const { book, port, edge } = setup(t, { origins: [nginx, { host: '10.0.0.1', port: 1935 }] })
    t.after(() => edge.stop())
    edge.setForeign([nginx])
    port.dead.add(foreign(nginx, '/live/a'))
    book.set(o1, [advert(o1, '/live/a')])
    await flushMicrotasks()
    assert.deepEqual(
      port.pulls,
      [foreign(nginx, '/live/a'), url(1)],
      'the advert starts the pull, in list order',
    )
    port.players.set('/live/b', 1)
    edge.played('/live/b')
    await flushMicrotasks()
    assert.deepEqual(port.pulls.slice(2), [foreign(nginx, '/live/b')])
    book.set(o1, [advert(o1, '/live/a'), advert(o1, '/live/b')])
    await flushMicrotasks()
    assert.equal(port.pulls.length, 3, 'a listed origin below the foreign one is no upgrade')
    port.dead.add(foreign(nginx, '/live/b'))
    port.downs.get('/live/b')?.('closed', 'socket closed')
    await flushMicrotasks()
    assert.deepEqual(port.pulls.slice(3), [url(1, '/live/b')])
    assert.deepEqual(port.opened, ['/live/a', '/live/b'])
    assert.equal(edge.pulls().find((p) => p.path === '/live/b')?.upstream?.node, 'n1')
    assert.equal(edge.counters().failovers, 1)
  })

  test('two foreign origins: a refusal or a loss moves to the next; with none it retries every retryMs', async (t) => {
    const { port, edge } = setup(t, { origins: [nginx, nginx2], retryMs: 40 })
    t.after(() => edge.stop())
    edge.setForeign([nginx, nginx2])
    port.dead.add(foreign(nginx))
    port.players.set('/live/a', 1)
    edge.played('/live/a')
    await flushMicrotasks()
    assert.deepEqual(port.pulls, [foreign(nginx), foreign(nginx2)])
    assert.equal(edge.pulls()[0]?.upstream?.node, 'rtmp://10.0.0.8:1936')
    port.dead.add(foreign(nginx2))
    port.downs.get('/live/a')?.('unpublished', 'StreamEOF')
    await flushMicrotasks()
    assert.equal(edge.pulls()[0]?.upstream, null, 'both refuse')
    const tries = port.pulls.length
    port.dead.delete(foreign(nginx))
    await advance(t, 60)
    assert.ok(port.pulls.length > tries, 'tried again after retryMs')
    assert.equal(edge.pulls()[0]?.upstream?.node, 'rtmp://10.0.0.9:1935')
  })

  test('a member behind a flagged address takes precedence: its adverts decide, and a foreign pull from it moves to its advert', async (t) => {
    const { book, port, edge } = setup(t, { origins: [{ host: '10.0.0.1', port: 1935 }] })
    t.after(() => edge.stop())
    edge.setForeign([{ host: '10.0.0.1', port: 1935 }]) // probed before n1 joined
    port.players.set('/live/a', 1)
    edge.played('/live/a')
    await flushMicrotasks()
    assert.deepEqual(port.pulls, [url(1)], 'pulled over plain RTMP')
    assert.equal(edge.pulls()[0]?.upstream?.foreign, true)
    book.set(o1, [advert(o1, '/live/a')]) // n1 joins the view with its advert
    await flushMicrotasks()
    assert.deepEqual(port.pulls, [url(1), url(1)], 'the same server again, now as a member')
    assert.deepEqual(edge.pulls()[0]?.upstream?.node, 'n1')
    assert.equal(edge.counters().failovers, 0, 'an upgrade, not a failover')
    port.players.set('/live/b', 1)
    edge.played('/live/b')
    await flushMicrotasks()
    assert.equal(port.pulls.length, 2, 'n1 has no /live/b: with a member behind it the entry is not foreign')
  })

  test('an entry found foreign after a player came is tried at once, not at the next retry', async (t) => {
    const { port, edge } = setup(t, { origins: [nginx], retryMs: 60_000 })
    t.after(() => edge.stop())
    port.players.set('/live/a', 1)
    edge.played('/live/a')
    await flushMicrotasks()
    assert.deepEqual(port.pulls, [])
    edge.setForeign([nginx])
    edge.setForeign([nginx]) // the same list again changes nothing
    await flushMicrotasks()
    assert.deepEqual(port.pulls, [foreign(nginx)])
  })

  test('a player is let go after waitMs while a foreign origin answers the play and sends nothing', async (t) => {
    const { port, edge } = setup(t, { origins: [nginx], streamOnDemand: true })
    t.after(() => edge.stop())
    edge.setForeign([nginx])
    port.gates.set(foreign(nginx), new Promise<void>(() => {})) // nginx-rtmp: Play.Start, no media
    port.players.set('/live/a', 1)
    edge.played('/live/a')
    await advance(t, 120)
    assert.deepEqual(port.kicked, ['/live/a'])
  })

  test('an entry not in origins is ignored; a mesh carrier unlisted ranks after a listed foreign origin', async (t) => {
    const { book, port, edge } = setup(t, { origins: [nginx] })
    t.after(() => edge.stop())
    edge.setForeign([nginx, nginx2])
    port.dead.add(foreign(nginx))
    book.set(o2, [advert(o2, '/live/a')])
    await flushMicrotasks()
    assert.deepEqual(port.pulls, [foreign(nginx), url(2)])
  })

  test('a quiet upstream: the other origin is pulled while it still feeds, and becomes the upstream', async (t) => {
    const { book, port, edge } = setup(t)
    t.after(() => edge.stop())
    book.set(o1, [advert(o1, '/live/a', { since: 1 })])
    book.set(o2, [advert(o2, '/live/a', { since: 2 })])
    await flushMicrotasks()
    port.quiets.get('/live/a')?.('no media for 264 ms')
    await flushMicrotasks()
    assert.deepEqual(port.pulls, [url(1), url(2)], 'the quiet one is not pulled again')
    assert.equal(edge.pulls()[0]?.upstream?.node, 'n2')
    assert.equal(edge.counters().failovers, 1)
  })

  test('a quiet upstream that resumes first keeps feeding; the alternative is not held against', async (t) => {
    const { book, port, edge } = setup(t)
    t.after(() => edge.stop())
    book.set(o1, [advert(o1, '/live/a', { since: 1 })])
    book.set(o2, [advert(o2, '/live/a', { since: 2 })])
    await flushMicrotasks()
    port.resumes.add(url(2))
    port.quiets.get('/live/a')?.('no media for 264 ms')
    await flushMicrotasks()
    assert.equal(edge.pulls()[0]?.upstream?.node, 'n1')
    assert.deepEqual(edge.counters(), { started: 1, failed: 0, failovers: 0, ignoredCopies: 0 })
    // the upstream is lost after all: the alternative is tried at once, not avoided
    port.resumes.clear()
    port.downs.get('/live/a')?.('stalled', 'no media for 2000 ms')
    await flushMicrotasks()
    assert.deepEqual(port.pulls, [url(1), url(2), url(2)])
    assert.equal(edge.pulls()[0]?.upstream?.node, 'n2')
  })

  test('a quiet upstream with no alternative: nothing is pulled, the stall decides', async (t) => {
    const { book, port, edge } = setup(t)
    t.after(() => edge.stop())
    book.set(o1, [advert(o1, '/live/a')])
    await flushMicrotasks()
    port.quiets.get('/live/a')?.('no media for 264 ms')
    await flushMicrotasks()
    assert.deepEqual(port.pulls, [url(1)])
  })

  test('re-pulls back off 0.5 s, 1 s, 2 s … up to retryDuration', () => {
    const schedule = [0, 1, 2, 3, 4, 5, 6, 7].map((n) => repullDelay(n, 30_000))
    assert.deepEqual(schedule, [500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000])
  })

  test('an upstream cut while the others refuse is re-pulled with backoff, not after retryDuration', async (t) => {
    const { book, port, edge } = setup(t, { retryMs: 60_000, repullFirstMs: 40 })
    t.after(() => edge.stop())
    port.players.set('/live/a', 1)
    book.set(o1, [advert(o1, '/live/a', { since: 1 })])
    book.set(o2, [advert(o2, '/live/a', { since: 2 })])
    await flushMicrotasks()
    port.dead.add(url(1))
    port.dead.add(url(2))
    port.downs.get('/live/a')?.('closed', 'socket closed')
    // lost at once: o2 refuses; then o1 and o2 again after 40 ms, after 80 ms more, after 160 ms more
    // the 8th pull refused, not only asked for: clearing `dead` while it is under way would let o2 in
    await until(t, () => port.refused.length >= 7, 'the seventh refusal')
    // pulls: o1 (first), o2 (at the loss), then o1 and o2 at each retry
    const at = (i: number) => port.times[i] ?? 0
    const [g1, g2, g3] = [at(2) - at(1), at(4) - at(2), at(6) - at(4)]
    // the mocked clock: exact, whatever the load on the box
    assert.deepEqual([g1, g2, g3], [40, 80, 160])
    // back: the backoff starts over at the next loss
    port.dead.clear()
    await until(t, () => edge.pulls()[0]?.upstream != null, 'an upstream again')
    assert.equal(edge.pulls()[0]?.upstream?.node, 'n1', 'the best origin again')
  })

  test('a stream nobody advertises any more waits retryDuration, not the backoff', async (t) => {
    const { book, port, edge } = setup(t, { retryMs: 60_000, repullFirstMs: 5 })
    t.after(() => edge.stop())
    book.set(o1, [advert(o1, '/live/a')])
    await flushMicrotasks()
    port.dead.add(url(1))
    book.set(o1, [])
    port.downs.get('/live/a')?.('closed', 'socket closed')
    await advance(t, 60)
    assert.deepEqual(port.pulls, [url(1)])
  })
})

describe('edge controller: stream owners', () => {
  const o3 = member('n3')
  /** A controller whose owner hold is measured by a clock the test moves. */
  function owned(t: TestContext, over: Partial<EdgeSettings> = {}) {
    const clock = { now: 1_000_000 }
    const parts = setup(t, { retryMs: 5, ownerHoldMs: 30_000, now: () => clock.now, ...over })
    return { ...parts, clock }
  }

  test("a pull keeps to its owner's copies: another owner's copy, an open one and a foreign origin are passed over until the hold ends", async (t) => {
    const { book, port, edge, clock } = owned(t, { origins: [{ host: '10.0.0.9', port: 1935 }] })
    t.after(() => edge.stop())
    book.set(o1, [advert(o1, '/live/a', { owner: 'studio' })])
    await until(t, () => edge.pulls()[0]?.upstream?.node === 'n1', 'the first pull')
    // a stranger's copy (older, so it would rank first) and one published without credentials
    book.set(o2, [advert(o2, '/live/a', { owner: 'stranger', since: 1 })])
    book.set(o3, [advert(o3, '/live/a', { owner: null, since: 2 })])
    edge.setForeign([{ host: '10.0.0.9', port: 1935 }])
    assert.equal(edge.counters().ignoredCopies, 2, 'each other copy reported once')
    const o4 = member('n4')
    book.set(o4, [advert(o4, '/live/a', { owner: 'studio', since: 3 })])
    port.downs.get('/live/a')?.('closed', 'publisher gone')
    await until(t, () => edge.pulls()[0]?.upstream?.node === 'n4', "the owner's other copy")
    assert.deepEqual(port.pulls, [url(1), url(4)], 'failed over within the owner only')
    assert.equal(edge.pulls()[0]?.upstream?.owner, 'studio', 'a relay advertises the owner on')
    // the owner's last copy goes: others wait out the hold, retried every retryMs meanwhile
    book.set(o1, [])
    book.set(o4, [])
    await until(t, () => edge.pulls()[0]?.upstream === null, 'the upstream lost')
    await advance(t, 30)
    assert.deepEqual(port.pulls, [url(1), url(4)], 'nothing else pulled within the hold')
    clock.now += 30_000
    await until(t, () => edge.pulls()[0]?.upstream !== null, 'any copy once the hold is over')
    assert.equal(edge.pulls()[0]?.upstream?.node, 'rtmp://10.0.0.9:1935', 'the listed (foreign) origin first')
    assert.deepEqual(port.pulls.slice(0, 2), [url(1), url(4)])
  })

  test("the owner's copy back within the hold is taken at once", async (t) => {
    const { book, port, edge } = owned(t)
    t.after(() => edge.stop())
    book.set(o1, [advert(o1, '/live/a', { owner: 'studio' })])
    book.set(o2, [advert(o2, '/live/a', { owner: 'stranger' })])
    await until(t, () => edge.pulls()[0]?.upstream !== null, 'the first pull')
    assert.equal(edge.pulls()[0]?.upstream?.node, 'n1', 'n1: the older advert, tie broken by id')
    book.set(o1, [])
    await until(t, () => edge.pulls()[0]?.upstream === null, 'the upstream lost')
    book.set(o1, [advert(o1, '/live/a', { owner: 'studio', since: 5 })])
    await until(t, () => edge.pulls()[0]?.upstream?.node === 'n1', 'the republished copy')
    assert.ok(!port.pulls.includes(url(2)), "the stranger's copy was never pulled")
  })

  test('a pull of an open copy takes any copy, and keeps to the first owned one it takes', async (t) => {
    const { book, port, edge } = owned(t)
    t.after(() => edge.stop())
    book.set(o1, [advert(o1, '/live/a', { owner: null })])
    await until(t, () => edge.pulls()[0]?.upstream?.node === 'n1', 'the open copy')
    book.set(o2, [advert(o2, '/live/a', { owner: 'studio' })])
    book.set(o1, [])
    await until(t, () => edge.pulls()[0]?.upstream?.node === 'n2', 'the owned copy')
    book.set(o3, [advert(o3, '/live/a', { owner: 'stranger' })])
    book.set(o2, [])
    await until(t, () => edge.pulls()[0]?.upstream === null, 'the owned copy lost')
    await advance(t, 30)
    assert.deepEqual(port.pulls, [url(1), url(2)], 'bound to studio now')
  })

  test('auth.owner_hold=0: owners are not looked at (any copy, at once)', async (t) => {
    const { book, port, edge } = owned(t, { ownerHoldMs: 0 })
    t.after(() => edge.stop())
    book.set(o1, [advert(o1, '/live/a', { owner: 'studio' })])
    await until(t, () => edge.pulls()[0]?.upstream?.node === 'n1', 'the first pull')
    book.set(o2, [advert(o2, '/live/a', { owner: 'stranger' })])
    book.set(o1, [])
    await until(t, () => edge.pulls()[0]?.upstream?.node === 'n2', "the other owner's copy")
    assert.deepEqual(port.pulls, [url(1), url(2)])
    assert.equal(edge.counters().ignoredCopies, 0)
  })
})
