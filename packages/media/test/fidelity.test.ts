// What players and publishers meshcast did not write see of an origin: media
// on the stream id they were given, FLV headers that declare the stream's
// tracks, onMetaData (never @setDataFrame), codecs learnt without metadata,
// a named status for every refused publish, and one A/V timeline across a
// republish. A MediaServer in this process; real ffmpeg publishers/players.
import assert from 'node:assert/strict'
import { once } from 'node:events'
import http from 'node:http'
import { after, before, describe, test } from 'node:test'
import {
  FRAME_KEY,
  type Logger,
  TAG_AUDIO,
  TAG_SCRIPT,
  TAG_VIDEO,
  tagTimestamp,
  videoFrameType,
} from '@meshcast/interface'
import { cacheIfAny } from '../src/fanout/media-cache.ts'
import { MediaServer, type StreamInfo } from '../src/index.ts'
import { Context, RtmpClient } from '../src/nms/nms.ts'
import {
  dtsNotIncreasing,
  ffmpeg,
  killAll,
  type PacketRow,
  packetPlayer,
  publish,
  waitFor,
} from './fixtures/av.ts'
import { testLogger } from './fixtures/log.ts'

const HOST = '127.0.89.1'
const HTTP_PORT = 8089
const rtmp = (path: string) => `rtmp://${HOST}:1935${path}`
const flvUrl = (path: string) => `http://${HOST}:${HTTP_PORT}${path}.flv`

let media: MediaServer
let web: http.Server
/** every line the server logged: message and fields */
const logged: { level: string; message: string; fields: Record<string, unknown> }[] = []

function recording(inner: Logger, fields: Record<string, unknown> = {}): Logger {
  const line =
    (level: 'error' | 'warn' | 'info' | 'debug') => (message: string, more?: Record<string, unknown>) => {
      logged.push({ level, message, fields: { ...fields, ...more } })
      inner[level](message, more)
    }
  return {
    error: line('error'),
    warn: line('warn'),
    info: line('info'),
    debug: line('debug'),
    child: (more) => recording(inner.child(more), { ...fields, ...more }),
  }
}

before(async () => {
  media = new MediaServer({ rtmp: { host: HOST, port: 1935 } }, { logger: recording(testLogger(HOST)) })
  await media.start()
  web = http.createServer((req, res) => {
    if (!media.flvRequest(req, res)) res.writeHead(404).end()
  })
  web.listen(HTTP_PORT, HOST)
  await once(web, 'listening')
})

after(async () => {
  killAll()
  web.closeAllConnections()
  web.close()
  await media.stop()
})

function stream(path: string): StreamInfo | undefined {
  return media.streams().find((s) => s.path === path)
}

const live = (path: string) => () => stream(path)?.state === 'live'

/** An audio-only (`a`), video-only (`v`) or A/V publisher with ffmpeg's own flags. */
function publishTracks(path: string, tracks: 'a' | 'v', extra: string[] = []) {
  const input =
    tracks === 'a'
      ? ['-f', 'lavfi', '-i', 'sine', '-c:a', 'aac']
      : ['-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25', '-c:v', 'libx264', '-preset', 'veryfast']
  return ffmpeg(['-loglevel', 'error', '-re', ...input, '-g', '25', ...extra, '-f', 'flv', rtmp(path)])
}

/** The first `bytes` of an HTTP-FLV response. */
async function flvPrefix(path: string, bytes: number): Promise<Buffer> {
  const res = await fetch(flvUrl(path))
  const reader = (res.body as ReadableStream<Uint8Array>).getReader()
  const chunks: Buffer[] = []
  let got = 0
  while (got < bytes) {
    const { value, done } = await reader.read()
    if (done) break
    chunks.push(Buffer.from(value))
    got += value.length
  }
  await reader.cancel()
  return Buffer.concat(chunks)
}

/**
 * How long a new player is watched for its startup burst: a window, not a
 * wait (a burst arrives at once; what comes later is live).
 */
const FIRST_WINDOW_MS = 200

/** The newest media timestamp of `path`'s cache here (the GOP, or the audio burst). */
function newestMediaMs(path: string): number {
  const b = Context.broadcasts.get(path)
  return (b === undefined ? undefined : cacheIfAny(b)?.newest()?.dts) ?? 0
}

/** What an HTTP-FLV player got in its first `ms`. */
async function firstMillis(path: string, ms: number): Promise<Buffer> {
  const startedAt = Date.now()
  const res = await fetch(flvUrl(path))
  const reader = (res.body as ReadableStream<Uint8Array>).getReader()
  let flv = Buffer.alloc(0)
  while (Date.now() - startedAt < ms) {
    const { value, done } = await reader.read()
    if (done) break
    flv = Buffer.concat([flv, Buffer.from(value)])
  }
  await reader.cancel()
  return flv
}

/** The dts of the audio and video frames an RTMP play of `streamName` got in its first `ms`. */
async function rtmpFirstMillis(path: string, streamName: string, ms: number): Promise<number[]> {
  const client = new RtmpClient()
  const dts: number[] = []
  client.dataHandler = function (this: RtmpClient) {
    const { header } = this.parserPacket
    if (header.type === TAG_AUDIO || header.type === TAG_VIDEO) dts.push(this.parserPacket.clock)
  }
  await client.connect(rtmp(path))
  await client.sendConnect()
  await client.sendCreateStream()
  const startedAt = Date.now()
  void client.sendPlay(streamName)
  // the window: what came in the first `ms`
  await new Promise((resolve) => setTimeout(resolve, ms - (Date.now() - startedAt)))
  client.disconnect()
  return dts.slice(1) // the sequence header first (single-track streams)
}

/** The whole tags of an FLV byte stream: type, dts, size, whether a frame (not a sequence header), a keyframe. */
function tagsOf(flv: Buffer): { type: number; dts: number; bytes: number; frame: boolean; key: boolean }[] {
  const out: { type: number; dts: number; bytes: number; frame: boolean; key: boolean }[] = []
  for (let at = 13; at + 11 <= flv.length; ) {
    const size = flv.readUIntBE(at + 1, 3)
    if (at + 11 + size > flv.length) break
    const type = flv[at] as number
    const dts = tagTimestamp(flv, at)
    const frame = (type === TAG_AUDIO || type === TAG_VIDEO) && flv[at + 12] === 1
    const key = type === TAG_VIDEO && videoFrameType(flv[at + 11] ?? 0) === FRAME_KEY
    out.push({ type, dts, bytes: 11 + size + 4, frame, key })
    at += 11 + size + 4
  }
  return out
}

/** FLV header flags: 4 audio, 1 video. */
const flags = (flv: Buffer) => flv[4]

/** The script tag right after the FLV header: its first AMF0 string. */
function firstScriptName(flv: Buffer): string | null {
  const tag = flv.subarray(13)
  if (tag[0] !== TAG_SCRIPT || tag[11] !== 0x02) return null
  const length = tag.readUInt16BE(12)
  return tag.subarray(14, 14 + length).toString('latin1')
}

describe('an origin as foreign players see it', () => {
  test('media and data go on the message stream id createStream gave the player (1, or 2 after two createStreams)', async () => {
    const p = publish([rtmp('/live/ids')])
    await waitFor('the publish', live('/live/ids'))
    for (const creates of [1, 2]) {
      const client = new RtmpClient()
      const seen = new Map<number, Set<number>>()
      client.dataHandler = function (this: RtmpClient) {
        const { type, stream_id } = this.parserPacket.header
        if (!seen.has(type)) seen.set(type, new Set())
        seen.get(type)?.add(stream_id)
      }
      await client.connect(rtmp('/live/ids'))
      await client.sendConnect()
      let id = 0
      for (let i = 0; i < creates; i++) id = await client.sendCreateStream()
      assert.equal(id, creates)
      await client.sendPlay('ids')
      await waitFor(
        'audio, video and data',
        () => [TAG_AUDIO, TAG_VIDEO, TAG_SCRIPT].every((t) => seen.has(t)),
        5000,
      )
      client.disconnect()
      for (const [type, ids] of seen) assert.deepEqual([...ids], [id], `message type ${type} on stream ${id}`)
    }
    p.kill('SIGKILL')
  })

  test("an audio-only or video-only stream's HTTP-FLV header declares only its track, also to a player that came first", async () => {
    const waiting = flvPrefix('/live/late-a', 13 + 15)
    const a = publishTracks('/live/only-a', 'a')
    const v = publishTracks('/live/only-v', 'v')
    const lateA = publishTracks('/live/late-a', 'a')
    await waitFor('the publishes', () => live('/live/only-a')() && live('/live/only-v')())
    assert.equal(flags(await flvPrefix('/live/only-a', 13)), 4)
    assert.equal(flags(await flvPrefix('/live/only-v', 13)), 1)
    assert.equal(flags(await waiting), 4, 'the player that waited for the publish')
    const av = publish([rtmp('/live/both')])
    await waitFor('the A/V publish', live('/live/both'))
    assert.equal(flags(await flvPrefix('/live/both', 13)), 5)
    for (const c of [a, v, lateA, av]) c.kill('SIGKILL')
  })

  test('a new player of a single-track stream gets a startup burst at once: audio-only 64 KiB (8 s at most), video-only whole GOPs of 3 s', async () => {
    const a = publishTracks('/live/radio', 'a')
    const v = publishTracks('/live/camera', 'v')
    await waitFor('the publishes', () => live('/live/radio')() && live('/live/camera')())
    // let them run longer than the video burst keeps
    await waitFor(
      '5 s of media',
      () => newestMediaMs('/live/radio') >= 5000 && newestMediaMs('/live/camera') >= 5000,
      15_000,
    )
    const radio = tagsOf(await firstMillis('/live/radio', FIRST_WINDOW_MS))
    const audio = radio.filter((t) => t.type === TAG_AUDIO && t.frame)
    const audioSpan = (audio.at(-1)?.dts ?? 0) - (audio[0]?.dts ?? 0)
    assert.ok(
      audioSpan >= 4000,
      `audio delivered in the first 200 ms spans ${audioSpan} ms (all of the ~5 s published)`,
    )
    const burstBytes = audio.reduce((n, t) => n + t.bytes, 0)
    assert.ok(
      burstBytes <= 64 * 1024 + 4096,
      `${burstBytes} bytes: 64 KiB at most, and the live frames since`,
    )
    const camera = tagsOf(await firstMillis('/live/camera', FIRST_WINDOW_MS))
    const video = camera.filter((t) => t.type === TAG_VIDEO && t.frame)
    const videoSpan = (video.at(-1)?.dts ?? 0) - (video[0]?.dts ?? 0)
    assert.equal(video[0]?.key, true, 'the burst starts at a keyframe')
    assert.ok(
      videoSpan >= 3000 && videoSpan <= 4500,
      `video delivered in the first 200 ms spans ${videoSpan} ms`,
    )
    // an edge's pull (marked) gets no burst: it would replay it to the edge's players at a failover
    for (const [name, most] of [
      ['radio', 300],
      ['camera', 1300],
    ] as const) {
      const pulled = await rtmpFirstMillis(`/live/${name}`, `${name}?meshcast=pull`, FIRST_WINDOW_MS)
      const span = (pulled.at(-1) ?? 0) - (pulled[0] ?? 0)
      assert.ok(
        pulled.length > 0 && span <= most,
        `a pull of ${name} got ${span} ms of media in its first 200 ms`,
      )
    }
    a.kill('SIGKILL')
    v.kill('SIGKILL')
  })

  test('players get onMetaData, never @setDataFrame, over HTTP-FLV', async () => {
    const p = publish([rtmp('/live/meta')])
    await waitFor('the publish', live('/live/meta'))
    assert.equal(firstScriptName(await flvPrefix('/live/meta', 64)), 'onMetaData')
    p.kill('SIGKILL')
  })

  test('with no metadata from the publisher, codecs and picture size come from the sequence headers', async () => {
    const v = publishTracks('/live/nometa', 'v', ['-flvflags', 'no_metadata'])
    const a = publishTracks('/live/nometa-a', 'a', ['-flvflags', 'no_metadata'])
    await waitFor('the publishes', () => live('/live/nometa')() && live('/live/nometa-a')())
    await waitFor(
      'codecs',
      () => stream('/live/nometa')?.videoCodec === 7 && stream('/live/nometa-a')?.audioCodec === 10,
    )
    assert.equal(stream('/live/nometa')?.width, 320)
    assert.equal(stream('/live/nometa')?.height, 240)
    assert.equal(flags(await flvPrefix('/live/nometa', 13)), 1)
    v.kill('SIGKILL')
    a.kill('SIGKILL')
  })

  test('a refused publish gets NetStream.Publish.BadName saying why: bad name, nested path, path already live', async () => {
    const p = publish([rtmp('/live/taken')])
    await waitFor('the publish', live('/live/taken'))
    const cases: [string, RegExp][] = [
      ['/live/my.stream', /stream name "my\.stream" is not allowed/],
      ['/live/sub/dir', /is not allowed/],
      ['/live/taken', /already being published/],
    ]
    for (const [path, why] of cases) {
      const c = ffmpeg([
        '-loglevel',
        'error',
        '-re',
        '-f',
        'lavfi',
        '-i',
        'sine',
        '-t',
        '5',
        '-c:a',
        'aac',
        '-f',
        'flv',
        rtmp(path),
      ])
      let stderr = ''
      c.stderr?.setEncoding('utf8').on('data', (t: string) => {
        stderr += t
      })
      const [code] = (await once(c, 'exit')) as [number | null]
      assert.notEqual(code, 0, path)
      assert.match(stderr, /Server error: /, path)
      assert.match(stderr, why, path)
    }
    p.kill('SIGKILL')
  })

  test('an H.264 publisher without a sequence header (ffmpeg tee without +global_header) is named once in the log', async () => {
    const tee = ffmpeg([
      ...['-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25', '-map', '0:v'],
      ...[
        '-c:v',
        'libx264',
        '-preset',
        'veryfast',
        '-g',
        '25',
        '-t',
        '3',
        '-f',
        'tee',
        `[f=flv]${rtmp('/live/tee')}`,
      ],
    ])
    await once(tee, 'exit')
    const lines = logged.filter((l) => /without an AVC sequence header/.test(l.message))
    assert.equal(lines.length, 1)
    assert.equal(lines[0]?.fields.path, '/live/tee')
    assert.equal(lines[0]?.level, 'warn')
  })

  test('a republish within 3 s gives a kept player one timeline: dts only increase, audio keeps its place against video', async () => {
    // the publisher's own A/V relation, seen by a player that waited for a fresh publish
    const fresh = packetPlayer(rtmp('/live/fresh'))
    await waitFor('the waiting player', () => stream('/live/fresh') !== undefined)
    const model = publish([rtmp('/live/fresh')])
    await waitFor('packets of the fresh publish', () => fresh.rows.length > 150, 10_000)
    model.kill('SIGKILL')
    fresh.child.kill('SIGKILL')
    const firstKey = fresh.rows.find((r) => r.stream === 0 && r.key) as PacketRow
    const phases = new Set(fresh.rows.filter((r) => r.stream === 1).map((r) => r.dts - firstKey.dts))

    const first = publish([rtmp('/live/again')])
    await waitFor('the publish', live('/live/again'))
    const player = packetPlayer(rtmp('/live/again'))
    await waitFor('packets', () => player.rows.length > 100)
    first.kill('SIGTERM')
    await once(first, 'exit')
    await waitFor('the stream in its grace', () => stream('/live/again')?.state === 'reconnecting')
    const second = publish([rtmp('/live/again')])
    await waitFor('the republish', live('/live/again'))
    const before = player.rows.length
    await waitFor('packets of the republish', () => player.rows.length > before + 150, 10_000)
    second.kill('SIGKILL')
    player.child.kill('SIGKILL')
    assert.deepEqual(dtsNotIncreasing(player.rows), [])
    // where the republish starts: the video keyframe off the first publisher's 1 s cadence
    const keys = player.rows.filter((r) => r.stream === 0 && r.key)
    const restart = keys.find((k, i) => i > 0 && offCadence(k.dts - (keys[i - 1] as PacketRow).dts))
    assert.ok(restart !== undefined, `a keyframe off the 1 s cadence among ${keys.map((k) => k.dts)}`)
    // every audio packet of the republish sits where the publisher put it against that keyframe
    // (NMS shifted each track by its own last dts: hundreds of ms of skew)
    const resumed = player.rows.filter((r) => r.stream === 1 && r.dts >= restart.dts).slice(0, 40)
    const misplaced = resumed
      .map((r) => r.dts - restart.dts)
      .filter((d) => ![-1, 0, 1].some((e) => phases.has(d + e)))
    assert.ok(resumed.length >= 20, 'audio after the republish')
    assert.deepEqual(
      misplaced,
      [],
      `audio offsets against the keyframe; the publisher's own: ${[...phases].slice(0, 12)}`,
    )
  })
})

/** Not a whole number of 1 s GOPs (40 ms of slack). */
function offCadence(ms: number): boolean {
  const r = ms % 1000
  return r > 40 && r < 960
}
