// An edge MediaServer in this process pulling from origin MediaServers in
// child processes, fed by ffmpeg publishers; ffmpeg players on the edge.
import assert from 'node:assert/strict'
import type { ChildProcess } from 'node:child_process'
import http from 'node:http'
import net from 'node:net'
import { after, before, describe, test } from 'node:test'
import { MediaServer, type Relay, type StreamInfo, type StreamSession } from '../src/index.ts'
import { nmsWs } from '../src/nms/nms.ts'
import {
  alive,
  decodingPlayer,
  dtsNotIncreasing,
  exited,
  ffmpeg,
  killAll,
  longestFreeze,
  MediaNode,
  packetPlayer,
  playCount,
  publish,
  waitFor,
  wsPlayCount,
} from './fixtures/av.ts'
import { clientHandshake, rawChunk } from './fixtures/fake-rtmp.ts'
import { testLogger } from './fixtures/log.ts'

const O1 = '127.0.88.1'
const O2 = '127.0.88.2'
const O3 = '127.0.88.3'
const EDGE = '127.0.88.10'
const HTTP_PORT = 8088
const STALL_MS = 1500
const PULL_TIMEOUT_MS = 2500
const rtmp = (host: string, path = '/live/s') => `rtmp://${host}:1935${path}`
// Windows, not waits: each is how long the test watches for something that must NOT happen
// (there is no event for "NMS is done with these bytes" or "the player is still there").
/** NMS parses noise this long before the node is checked to still serve */
const NOISE_WINDOW_MS = 300
/** a kept player must stay attached this long after its relay closed */
const KEPT_WINDOW_MS = 1000
/** a player of a stream nobody has must stay attached, waiting, this long */
const WAITING_WINDOW_MS = 500

const origins = new Map<string, MediaNode>()
const publishers = new Map<string, ChildProcess>()
let edge: MediaServer
let web: http.Server
const events: { event: string; s: StreamSession }[] = []
/** what the report at the end prints */
const measured: Record<string, unknown> = {}

function stream(path: string): StreamInfo | undefined {
  return edge.streams().find((s) => s.path === path)
}

async function originHas(host: string, path: string): Promise<boolean> {
  const streams = await (origins.get(host) as MediaNode).ask<StreamInfo[]>('streams')
  return streams.some((s) => s.path === path && s.state === 'live' && s.videoCodec === 7)
}

/** Resolves with the next down report of `relay`. */
function nextDown(relay: Relay): Promise<{ reason: string; detail: string; at: number }> {
  return new Promise((resolve) => {
    const off = relay.events.on('down', ({ reason, detail }) => {
      off()
      resolve({ reason, detail, at: Date.now() })
    })
  })
}

before(async () => {
  for (const host of [O1, O2, O3]) origins.set(host, new MediaNode({ host, port: 1935 }))
  await Promise.all([...origins.values()].map((o) => o.ready))
  // origins 1 and 2 carry one encoding (same timeline); origin 3 an unrelated one
  publishers.set('tee', publish([rtmp(O1), rtmp(O2)]))
  publishers.set(O3, publish([rtmp(O3)], 'testsrc2=size=320x240:rate=25'))
  edge = new MediaServer(
    {
      rtmp: { host: EDGE, port: 1935 },
      acceptsPublish: false,
      stallMs: STALL_MS,
      pullTimeoutMs: PULL_TIMEOUT_MS,
    },
    { logger: testLogger('edge') },
  )
  for (const event of ['publish', 'unpublish', 'play', 'stop'] as const) {
    edge.events.on(event, (s) => events.push({ event, s }))
  }
  await edge.start()
  web = http.createServer((req, res) => {
    if (!edge.flvRequest(req, res)) res.writeHead(404).end('not ours')
  })
  web.on('upgrade', (req, socket, head) => {
    if (!edge.flvUpgrade(req, socket, head)) socket.destroy()
  })
  await new Promise<void>((resolve) => web.listen(HTTP_PORT, EDGE, resolve))
  for (const host of [O1, O2, O3]) await waitFor(`${host} live`, () => originHas(host, '/live/s'), 15_000)
})

after(async () => {
  killAll()
  web?.close()
  await edge?.stop()
  console.log('measured', JSON.stringify(measured, null, 1))
})

describe('edge pulls', { timeout: 120_000 }, () => {
  let relay: Relay

  test('a pull resolves once media flows, and RTMP, HTTP-FLV and WS-FLV players decode it', async () => {
    relay = edge.relays().open('/live/s')
    const t0 = Date.now()
    await relay.pull(rtmp(O1))
    measured.firstPullMs = Date.now() - t0
    const [r, h, w] = await Promise.all([
      playCount(rtmp(EDGE)),
      playCount(`http://${EDGE}:${HTTP_PORT}/live/s.flv`),
      wsPlayCount(`ws://${EDGE}:${HTTP_PORT}/live/s.flv`),
    ])
    measured.framesPer3sPlay = { rtmp: r.frames, httpFlv: h.frames, wsFlv: w.frames }
    assert.ok(r.frames > 25, `RTMP decoded ${r.frames} frames: ${r.stderr.slice(-500)}`)
    assert.ok(h.frames > 25, `HTTP-FLV decoded ${h.frames} frames: ${h.stderr.slice(-500)}`)
    assert.ok(w.frames > 25, `WS-FLV decoded ${w.frames} frames: ${w.stderr.slice(-500)}`)
    const s = stream('/live/s')
    assert.ok(s !== undefined)
    assert.deepEqual(
      { pulled: s.pulled, publisher: s.publisher, state: s.state, video: s.videoCodec, audio: s.audioCodec },
      { pulled: true, publisher: null, state: 'live', video: 7, audio: 10 },
    )
    assert.equal(edge.relays().published('/live/s'), false)
    assert.equal(events.filter((e) => e.event === 'publish').length, 0, 'a pull is not a publish')
    await waitFor('stop events', () => events.filter((e) => e.event === 'stop').length >= 3)
    const plays = events.filter((e) => e.event === 'play')
    assert.deepEqual(plays.map((e) => e.s.protocol).sort(), ['flv', 'flv', 'rtmp'])
  })

  test('traffic(): bytes the pull fed in, bytes sent out to players, those that left included', async () => {
    const traffic = () => edge.traffic().find((t) => t.path === '/live/s')
    const before = traffic()
    assert.ok(before !== undefined && before.inBytes > 0, JSON.stringify(before))
    assert.ok(before.outBytes > 0, 'the players of the test before have left; their bytes stay')
    const samples: { inBytes: number; outBytes: number }[] = []
    const sampler = setInterval(() => {
      const t = traffic()
      if (t !== undefined) samples.push(t)
    }, 50)
    try {
      const r = await playCount(rtmp(EDGE), 2)
      assert.ok(r.frames > 20, `decoded ${r.frames}`)
      await waitFor('the player to leave', () => stream('/live/s')?.subscribers === 0)
    } finally {
      clearInterval(sampler)
    }
    const after = traffic()
    assert.ok(
      after !== undefined && after.outBytes > before.outBytes + 10_000,
      JSON.stringify({ before, after }),
    )
    assert.ok(after.inBytes > before.inBytes)
    for (const [i, t] of samples.entries()) {
      const prev = samples[i - 1]
      if (prev === undefined) continue
      assert.ok(t.inBytes >= prev.inBytes && t.outBytes >= prev.outBytes, `sample ${i} went down`)
    }
    measured.traffic = { ...after, samples: samples.length }
  })

  test('publishing to the edge is refused with a clear status, over RTMP, HTTP and WebSocket', async () => {
    const c = ffmpeg([
      ...['-loglevel', 'info', '-re', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=10', '-t', '5'],
      ...['-c:v', 'libx264', '-preset', 'ultrafast', '-f', 'flv', rtmp(EDGE, '/live/other')],
    ])
    let stderr = ''
    c.stderr?.setEncoding('utf8').on('data', (t: string) => {
      stderr += t
    })
    assert.ok(await exited(c, 10_000), 'ffmpeg gave up')
    assert.notEqual(c.exitCode, 0)
    assert.match(stderr, /\/live\/other: this node is an edge: publish to an origin/)
    measured.refusedPublish = stderr
      .split('\n')
      .find((l) => l.includes('this node is an edge'))
      ?.trim()
    assert.equal(stream('/live/other'), undefined, 'no broadcast was created')
    assert.equal(events.filter((e) => e.event === 'publish').length, 0)

    const post = await fetch(`http://${EDGE}:${HTTP_PORT}/live/other.flv`, { method: 'POST', body: 'FLV' })
    assert.equal(post.status, 403)
    assert.match(await post.text(), /this node is an edge/)
    const closed = await new Promise<{ code: number; reason: string }>((resolve) => {
      const ws = new nmsWs.WebSocket(`ws://${EDGE}:${HTTP_PORT}/live/other.flv`, 'post') as unknown as {
        on(e: 'close', f: (code: number, reason: Buffer) => void): void
        on(e: 'error', f: () => void): void
      }
      ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }))
      ws.on('error', () => {})
    })
    assert.equal(closed.code, 1008)
    assert.match(closed.reason, /this node is an edge/)
  })

  test('odd FLV paths get a 400 with a reason; other URLs are left to the caller', async () => {
    const bad = await fetch(`http://${EDGE}:${HTTP_PORT}/live/a.b.flv`)
    assert.equal(bad.status, 400)
    assert.match(await bad.text(), /bad stream path "live\/a.b"/)
    const escaped = await fetch(`http://${EDGE}:${HTTP_PORT}/live/%ZZ.flv`)
    assert.equal(escaped.status, 400)
    const other = await fetch(`http://${EDGE}:${HTTP_PORT}/api/streams`)
    assert.equal(other.status, 404)
    assert.equal(await other.text(), 'not ours')
    const head = await fetch(`http://${EDGE}:${HTTP_PORT}/live/s.flv`, { method: 'HEAD' })
    assert.equal(head.headers.get('content-type'), 'video/x-flv')
    assert.equal(head.headers.get('access-control-allow-origin'), '*')
    assert.match(head.headers.get('cache-control') ?? '', /no-cache/)
  })

  test('garbage from an RTMP client ends its session; the node carries on', async () => {
    // an empty command message makes NMS's AMF decoder throw: the session ends, not the process
    const sock = net.connect(1935, EDGE)
    sock.on('error', () => {})
    sock.resume()
    sock.write(Buffer.concat([clientHandshake(), rawChunk(20, Buffer.alloc(0)), Buffer.from([2])]))
    await waitFor('the edge to close the bad client', () => sock.readableEnded || sock.destroyed, 5000)
    sock.destroy()
    // random bytes: whatever NMS makes of them, the node survives
    const noise = net.connect(1935, EDGE)
    noise.on('error', () => {})
    noise.resume()
    await new Promise((r) => noise.write(Buffer.concat([clientHandshake(), Buffer.alloc(20_000, 0xff)]), r))
    await new Promise((r) => setTimeout(r, NOISE_WINDOW_MS))
    noise.destroy()
    const r = await playCount(rtmp(EDGE), 2)
    assert.ok(r.frames > 0, 'still serving')
  })

  test('a pull the upstream cannot serve is rejected, and the current upstream keeps feeding', async () => {
    const player = packetPlayer(rtmp(EDGE))
    try {
      await waitFor('the player', () => player.rows.length > 50)
      const t0 = Date.now()
      // an NMS origin answers Play.Start for a path it does not have, then sends nothing
      await assert.rejects(relay.pull(rtmp(O1, '/live/nothing')), (err: Error & { reason?: string }) => {
        assert.equal(err.reason, 'timeout')
        return true
      })
      assert.ok(Date.now() - t0 >= PULL_TIMEOUT_MS - 100)
      await assert.rejects(relay.pull('rtmp://127.0.88.99:1935/live/s'), /ECONNREFUSED/)
      const n = player.rows.length
      await waitFor('more packets from the kept upstream', () => player.rows.length > n + 25)
      assert.deepEqual(dtsNotIncreasing(player.rows), [])
    } finally {
      player.child.kill('SIGKILL')
    }
  })

  test('kept players survive upstream switches with increasing timestamps', async () => {
    const packets = packetPlayer(rtmp(EDGE))
    const decoded = decodingPlayer(`http://${EDGE}:${HTTP_PORT}/live/s.flv`)
    const marks = { deliberate: 0, killed: 0, silent: 0, end: 0 }
    try {
      await waitFor('players', () => decoded.frames.length > 25 && packets.rows.length > 50)

      // 1. deliberate switch to an origin of the same encoding: make-before-break
      marks.deliberate = Date.now()
      await relay.pull(rtmp(O2))
      await waitFor('frames after the switch', () =>
        decoded.frames.some((f) => f.at > marks.deliberate + 1500),
      )

      // 2. that origin dies: down "closed", then an unrelated encoding
      let down = nextDown(relay)
      marks.killed = Date.now()
      origins.get(O2)?.kill()
      const closed = await down
      assert.equal(closed.reason, 'closed')
      measured.closedDetectedMs = closed.at - marks.killed
      await relay.pull(rtmp(O3))
      measured.closedToPlayingMs = Date.now() - marks.killed
      await waitFor('frames after the switch', () => decoded.frames.some((f) => f.at > marks.killed + 1500))

      // 3. its publisher stops, the origin stays up and silent: down "stalled"
      down = nextDown(relay)
      marks.silent = Date.now()
      publishers.get(O3)?.kill('SIGKILL')
      const stalled = await down
      assert.equal(stalled.reason, 'stalled')
      measured.stallDetectedMs = stalled.at - marks.silent
      assert.ok(stalled.at - marks.silent >= STALL_MS - 100)
      await relay.pull(rtmp(O1))
      await waitFor(
        'frames after the switch',
        () => decoded.frames.some((f) => f.at > marks.silent + STALL_MS + 1500),
        15_000,
      )
      marks.end = Date.now()
    } finally {
      packets.child.kill('SIGINT')
      decoded.child.kill('SIGINT')
      await Promise.all([exited(packets.child, 3000), exited(decoded.child, 3000)])
    }
    assert.deepEqual(dtsNotIncreasing(packets.rows), [], 'dts only increase, per stream')
    const video = packets.rows.filter((r) => r.stream === 0)
    for (const [from, to] of [
      ['deliberate', 'killed'],
      ['killed', 'silent'],
      ['silent', 'end'],
    ] as const) {
      const n = video.filter((r) => r.at >= marks[from] && r.at < marks[to]).length
      assert.ok(n > 10, `video packets between ${from} and ${to}: ${n}`)
    }
    const pts = decoded.frames.map((f) => f.pts)
    const back = pts.filter((p, i) => i > 0 && p <= (pts[i - 1] ?? 0)).length
    assert.equal(back, 0, 'decoded pts only increase')
    assert.deepEqual(
      decoded.warnings.filter((w) => /non monoton/.test(w)),
      [],
    )
    measured.decodeWarnings = decoded.warnings.slice(0, 5)
    measured.freezeMs = {
      deliberate: longestFreeze(decoded.frames, marks.deliberate, marks.killed),
      originKilled: longestFreeze(decoded.frames, marks.killed, marks.silent),
      originSilent: longestFreeze(decoded.frames, marks.silent, marks.end),
    }
  })

  test('close(false) keeps the players waiting; the next relay of the path resumes them; close(true) cuts them', async () => {
    const player = packetPlayer(rtmp(EDGE))
    try {
      await waitFor('the player', () => player.rows.length > 50)
      relay.close(false)
      await new Promise((r) => setTimeout(r, KEPT_WINDOW_MS))
      assert.ok(alive(player.child), 'the player stayed')
      assert.deepEqual(
        { state: stream('/live/s')?.state, subscribers: stream('/live/s')?.subscribers },
        { state: 'idle', subscribers: 1 },
      )
      const n = player.rows.length
      relay = edge.relays().open('/live/s')
      await relay.pull(rtmp(O1))
      await waitFor('packets again', () => player.rows.length > n + 50)
      assert.deepEqual(dtsNotIncreasing(player.rows), [], 'one timeline across the two relays')
      relay.close(true)
      assert.ok(await exited(player.child, 5000), 'the player was disconnected')
      await waitFor('the stream to go', () => stream('/live/s') === undefined)
      // no NMS "reconnecting" grace left behind: the path can be pulled again at once
      relay = edge.relays().open('/live/s')
      await relay.pull(rtmp(O1))
      assert.equal(stream('/live/s')?.state, 'live')
      relay.close(true)
    } finally {
      player.child.kill('SIGKILL')
    }
  })

  test('a player of a stream nobody has yet waits attached, then plays once it is pulled', async () => {
    const c = ffmpeg(['-i', rtmp(EDGE, '/live/later'), '-t', '2', '-map', '0:v', '-f', 'null', '-'])
    let stderr = ''
    c.stderr?.setEncoding('utf8').on('data', (t: string) => {
      stderr += t
    })
    await waitFor('play event', () => events.some((e) => e.event === 'play' && e.s.path === '/live/later'))
    await new Promise((r) => setTimeout(r, WAITING_WINDOW_MS))
    assert.deepEqual(
      { subscribers: stream('/live/later')?.subscribers, state: stream('/live/later')?.state },
      { subscribers: 1, state: 'idle' },
    )
    assert.equal(edge.relays().subscribers('/live/later'), 1)
    const later = edge.relays().open('/live/later')
    await later.pull(rtmp(O1, '/live/s'))
    assert.ok(await exited(c, 15_000))
    const frames = Number([...stderr.matchAll(/frame=\s*(\d+)/g)].pop()?.[1] ?? 0)
    assert.ok(frames > 25, `decoded ${frames}`)
    later.close(true)
  })
})

describe('origin events', () => {
  test('a second publisher of a live path is refused without a publish event', async () => {
    const o1 = origins.get(O1) as MediaNode
    const second = publish([rtmp(O1)])
    assert.ok(await exited(second, 10_000), 'the second publisher was cut')
    const evs = await o1.ask<{ event: string; path: string }[]>('events')
    assert.equal(evs.filter((e) => e.event === 'publish' && e.path === '/live/s').length, 1)
  })
})

describe('draining (the node is shutting down)', () => {
  test('new players are refused over RTMP, HTTP-FLV and WS-FLV; a player already there keeps playing', async () => {
    const relay = edge.relays().open('/live/drain')
    await relay.pull(rtmp(O1))
    const kept = playCount(rtmp(EDGE, '/live/drain'), 4)
    await waitFor('the kept player to attach', () => stream('/live/drain')?.subscribers === 1)
    assert.equal(edge.draining, false)
    edge.drain('this node is shutting down: play from another node')
    assert.equal(edge.draining, true)

    const c = ffmpeg(['-loglevel', 'info', '-i', rtmp(EDGE, '/live/drain'), '-t', '2', '-f', 'null', '-'])
    let stderr = ''
    c.stderr?.setEncoding('utf8').on('data', (t: string) => {
      stderr += t
    })
    assert.ok(await exited(c, 10_000), 'the refused player gave up')
    assert.notEqual(c.exitCode, 0)
    assert.match(stderr, /\/live\/drain: this node is shutting down/)
    measured.refusedPlay = stderr
      .split('\n')
      .find((l) => l.includes('shutting down'))
      ?.trim()

    const res = await fetch(`http://${EDGE}:${HTTP_PORT}/live/drain.flv`)
    assert.equal(res.status, 503)
    assert.match(await res.text(), /shutting down/)
    const ws = await new Promise<string>((resolve) => {
      const client = new nmsWs.WebSocket(`ws://${EDGE}:${HTTP_PORT}/live/drain.flv`) as unknown as {
        on(e: 'unexpected-response', f: (req: unknown, res: { statusCode: number }) => void): void
        on(e: 'error', f: (err: Error) => void): void
      }
      client.on('unexpected-response', (_req, r) => resolve(String(r.statusCode)))
      client.on('error', (err) => resolve(err.message))
    })
    assert.match(ws, /503/)

    const played = await kept
    assert.ok(played.frames > 60, `the kept player decoded ${played.frames} frames`)
    relay.close(true)
  })
})
