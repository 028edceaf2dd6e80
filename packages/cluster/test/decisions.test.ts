import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { silentLogger } from '@meshcast/interface'
import {
  memberIndex,
  parseAdverts,
  RoundRobin,
  rankCandidates,
  rankUpstreams,
  StreamBook,
} from '../src/index.ts'
import { advert, member } from './fixtures.ts'

describe('stream adverts from the wire', () => {
  test('well-formed adverts pass; anything else is refused with the reason', () => {
    const m = member('n1')
    const good = advert(m, '/live/a')
    assert.deepEqual(parseAdverts([good]), { ok: true, adverts: [good] })
    assert.deepEqual(parseAdverts(undefined), { ok: true, adverts: [] })
    const bad: [unknown, RegExp][] = [
      ['x', /not a list/],
      [[null], /not an object/],
      [[{ ...good, path: '/live/../etc' }], /bad path/],
      [[{ ...good, path: '/live/a b' }], /bad path/],
      [[{ ...good, path: '/live/<script>' }], /bad path/],
      [[{ ...good, source: 'mirror' }], /bad source/],
      [[{ ...good, rtmpUrl: 'http://x/y' }], /bad rtmpUrl/],
      [[{ ...good, since: -1 }], /bad since/],
      [[{ ...good, subscribers: 1.5 }], /bad subscribers/],
      [[{ ...good, kbps: -1 }], /bad kbps/],
      [[{ ...good, kbps: Number.POSITIVE_INFINITY }], /bad kbps/],
      [[{ ...good, kbps: '900' }], /bad kbps/],
      [[{ ...good, width: 0 }], /bad width/],
      [[{ ...good, height: 1.5 }], /bad height/],
      [[{ ...good, width: 1e9 }], /bad width/],
      [[{ ...good, via: 'n2' }], /bad via/],
      [[{ ...good, owner: 7 }], /bad owner/],
      [[{ ...good, owner: 'a b' }], /bad owner/],
      [[{ ...good, owner: 'x'.repeat(65) }], /bad owner/],
      [Array.from({ length: 1001 }, () => good), /> 1000/],
    ]
    for (const [value, why] of bad) {
      const parsed = parseAdverts(value)
      assert.equal(parsed.ok, false, JSON.stringify(value).slice(0, 80))
      if (!parsed.ok) assert.match(parsed.problem, why)
    }
  })

  test('an owner tag passes as sent; a node that sends none (an earlier version) owns nothing', () => {
    const m = member('n1')
    const owned = advert(m, '/live/a', { owner: 'Zm9vYmFyYmF6cXV4cXV1eA' })
    assert.deepEqual(parseAdverts([owned]), { ok: true, adverts: [owned] })
    const { owner: _owner, ...older } = owned
    const parsed = parseAdverts([older])
    assert.equal(parsed.ok && parsed.adverts[0]?.owner, null)
  })

  test('kbps is a non-negative number; a node that sends none (an earlier version) has 0', () => {
    const m = member('n1')
    const withRate = advert(m, '/live/a', { kbps: 1200 })
    assert.deepEqual(parseAdverts([withRate]), { ok: true, adverts: [withRate] })
    const { kbps: _kbps, ...without } = withRate
    const parsed = parseAdverts([without])
    assert.equal(parsed.ok && parsed.adverts[0]?.kbps, 0)
  })

  test('width and height are positive whole pixels or null; a node that sends none (an earlier version) has null', () => {
    const m = member('n1')
    const sized = advert(m, '/live/a')
    assert.deepEqual(parseAdverts([sized]), { ok: true, adverts: [sized] })
    const unknown = advert(m, '/live/a', { width: null, height: null })
    assert.deepEqual(parseAdverts([unknown]), { ok: true, adverts: [unknown] })
    const { width: _w, height: _h, ...without } = sized
    const parsed = parseAdverts([without])
    assert.deepEqual(parsed.ok && [parsed.adverts[0]?.width, parsed.adverts[0]?.height], [null, null])
  })

  test('random junk never throws', () => {
    const junk = [0, true, {}, [[]], [{ path: 1 }], [{ path: '/a/b', source: 'publish' }], '[]', [undefined]]
    for (const v of junk) assert.equal(parseAdverts(v).ok, false)
    // what node-media-server refuses, an advert may not name
    for (const path of ['/live/cam.v2', '/live/a~x', `/live/${'a'.repeat(129)}`, 'live/a', '/live/a/b'])
      assert.equal(parseAdverts([advert(member('n1'), path)]).ok, false, path)
    assert.equal(parseAdverts([advert(member('n1'), '/live/cam-1_HD')]).ok, true)
  })
})

describe('the stream book', () => {
  test('tells when a path gains and loses an upstream; a member leaving takes its adverts', () => {
    const book = new StreamBook(silentLogger)
    const events: string[] = []
    book.events.on('upstream', (e) => events.push(`+${e.path}@${e.node}`))
    book.events.on('withdrawn', (e) => events.push(`-${e.path}@${e.node}`))
    const o1 = member('n1')
    const e2 = member('n2', { role: 'edge' })
    book.member({ ...o1, data: { streams: [advert(o1, '/live/a')] } })
    book.member({ ...e2, data: { streams: [advert(e2, '/live/a', { source: 'edge', via: ['n1'] })] } })
    assert.deepEqual(events, ['+/live/a@n1'])
    assert.equal(book.carriers('/live/a').length, 2)
    assert.deepEqual(
      book.upstreams('/live/a').map((c) => c.member.id),
      ['n1'],
    )
    book.member({ ...o1, data: { streams: 'garbage' } })
    assert.equal(book.rejected, 1)
    assert.equal(book.upstreams('/live/a').length, 1, 'a bad heartbeat keeps what was known')
    book.remove('n1')
    assert.deepEqual(events, ['+/live/a@n1', '-/live/a@n1'])
    assert.deepEqual(book.paths(), ['/live/a'])
    book.retain(new Set())
    assert.deepEqual(book.paths(), [])
  })
})

describe('upstream choice', () => {
  const book = new StreamBook(silentLogger)
  const o1 = member('n1', { load: { subscribers: 9, streams: 1 } })
  const o2 = member('n2', { load: { subscribers: 1, streams: 1 } })
  const o3 = member('n3', { load: { subscribers: 5, streams: 1 } })
  for (const m of [o1, o2, o3]) book.set(m, [advert(m, '/live/a')])
  const ids = (cs: { member: { id: string } }[]) => cs.map((c) => c.member.id)

  test('listed origins first, in list order; then the least loaded', () => {
    const origins = [
      { host: '10.0.0.3', port: 1935 },
      { host: '10.0.0.1', port: 1935 },
    ]
    assert.deepEqual(ids(rankUpstreams(book.upstreams('/live/a'), origins)), ['n3', 'n1', 'n2'])
    assert.deepEqual(ids(rankUpstreams(book.upstreams('/live/a'), [])), ['n2', 'n3', 'n1'])
  })

  test('a DNS-name entry stands for every member at the addresses it resolved to, in its place in the list', () => {
    const origins = [
      { host: 'origins.test', port: 1935, addresses: ['10.0.0.3', '10.0.0.1'] },
      { host: '10.0.0.2', port: 1935 },
    ]
    assert.deepEqual(ids(rankUpstreams(book.upstreams('/live/a'), origins)), ['n3', 'n1', 'n2'])
    assert.equal(memberIndex(o1, origins), 0)
    assert.equal(memberIndex(o1, [{ host: 'origins.test', port: 1935 }]), -1, 'not resolved: no member')
    assert.equal(memberIndex(o1, [{ host: 'origins.test', port: 1936, addresses: ['10.0.0.1'] }]), -1)
  })

  test('an upstream that just failed goes last', () => {
    assert.deepEqual(ids(rankUpstreams(book.upstreams('/live/a'), [], new Set(['n2']))), ['n3', 'n1', 'n2'])
  })

  test('foreign origins take their place in the origins list; unlisted carriers follow; the avoided go last', () => {
    const nginx = { host: '10.0.0.9', port: 1935 }
    const origins = [{ host: '10.0.0.3', port: 1935 }, nginx, { host: '10.0.0.1', port: 1935 }]
    const ranked = (avoid: string[] = []) =>
      rankCandidates(book.upstreams('/live/a'), origins, [nginx], new Set(avoid)).map((c) => c.id)
    assert.deepEqual(ranked(), ['n3', 'rtmp://10.0.0.9:1935', 'n1', 'n2'])
    assert.deepEqual(ranked(['rtmp://10.0.0.9:1935', 'n3']), ['n1', 'n2', 'n3', 'rtmp://10.0.0.9:1935'])
  })
})

describe('round robin (GET /cluster)', () => {
  test('rotates over public nodes; a private one is never named', () => {
    const rr = new RoundRobin()
    const book = new StreamBook(silentLogger)
    const members = [member('n1'), member('n2', { privateInstance: true }), member('n3', { role: 'edge' })]
    const seen = Array.from({ length: 4 }, () => {
      const r = rr.next(members, book)
      return r.ok ? `${r.route.host}:${r.route.port}` : r.message
    })
    assert.deepEqual(seen, ['10.0.0.1:1935', '10.0.0.3:1935', '10.0.0.1:1935', '10.0.0.3:1935'])
    const none = rr.next([member('n1', { privateInstance: true })], book)
    assert.equal(none.ok, false)
    if (!none.ok) assert.equal(none.status, 503)
  })

  test('?stream= goes to a node that has it, least loaded; else to an edge; bad input is a 400', () => {
    const rr = new RoundRobin()
    const book = new StreamBook(silentLogger)
    const o1 = member('n1')
    const e2 = member('n2', { role: 'edge', load: { subscribers: 7, streams: 1 } })
    const e3 = member('n3', { role: 'edge', load: { subscribers: 2, streams: 1 } })
    const e4 = member('n4', { role: 'edge', load: { subscribers: 1, streams: 0 } })
    book.set(o1, [advert(o1, '/live/a')])
    book.set(e2, [advert(e2, '/live/a', { source: 'edge' })])
    book.set(e3, [advert(e3, '/live/a', { source: 'edge' })])
    const members = [o1, e2, e3, e4]
    const a = rr.next(members, book, 'live/a')
    assert.ok(a.ok)
    if (a.ok) assert.equal(a.route.nodeId, 'n1') // the origin serves nobody yet
    const b = rr.next(members, book, 'live/b')
    assert.ok(b.ok)
    if (b.ok) {
      assert.equal(b.route.nodeId, 'n4')
      assert.equal(b.route.rtmpUrl, 'rtmp://10.0.0.4:1935/live/b')
    }
    const bad = rr.next(members, book, '../../etc/passwd')
    assert.equal(bad.ok, false)
    if (!bad.ok) assert.equal(bad.status, 400)
  })
})
