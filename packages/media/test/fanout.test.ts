// The fan-out's two pure parts: the bytes of each form of a message (the same
// as node-media-server's own, which every interop test already plays), and
// what a stream keeps for the next player.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { TAG_AUDIO, TAG_SCRIPT, TAG_VIDEO } from '@meshcast/interface'
import { Cached, MediaCache, type SingleTrack } from '../src/fanout/media-cache.ts'
import { flvTag, OUT_CHUNK_SIZE, rtmpMessage } from '../src/fanout/tags.ts'
import {
  AUDIO_FRAME,
  AUDIO_HEADER,
  INTER_FRAME,
  KEYFRAME,
  METADATA,
  VIDEO_HEADER,
} from '../src/flv/flv-kinds.ts'
import { AVPacket, Flv, Rtmp } from '../src/nms/nms.ts'
import { MEDIA_STREAM_ID, withStreamId } from '../src/rtmp/rtmp-stream-id.ts'
import { AUDIO_BURST_BYTES, AUDIO_BURST_MS, VIDEO_BURST_MS } from '../src/startup-burst.ts'

function packet(type: number, dts: number, size: number): AVPacket {
  const p = new AVPacket()
  p.codec_type = type
  p.dts = dts
  p.pts = dts
  p.size = size
  // more than `size`: a reused parser buffer holds stale bytes past it
  p.data = Buffer.alloc(size + 7)
  for (let i = 0; i < p.data.length; i++) p.data[i] = (i * 31 + size) & 0xff
  return p
}

describe('a message in its two forms', () => {
  const sizes = [1, 200, OUT_CHUNK_SIZE - 1, OUT_CHUNK_SIZE, OUT_CHUNK_SIZE + 1, 3 * OUT_CHUNK_SIZE, 200_000]
  const times = [0, 40, 0xfffffe, 0xffffff, 0x1000005, 0xfffffff0]
  test('the FLV tag is byte for byte the one node-media-server builds', () => {
    for (const type of [TAG_AUDIO, TAG_VIDEO, TAG_SCRIPT])
      for (const size of sizes)
        for (const dts of times) {
          const p = packet(type, dts, size)
          assert.deepEqual(
            flvTag(type, dts, p.data, size),
            Flv.createMessage(p),
            `type ${type} size ${size} dts ${dts}`,
          )
        }
  })

  test("the RTMP message is node-media-server's, on the stream id players play", () => {
    for (const type of [TAG_AUDIO, TAG_VIDEO, TAG_SCRIPT])
      for (const size of sizes)
        for (const dts of times) {
          const p = packet(type, dts, size)
          const nms = withStreamId(Rtmp.createMessage(p), MEDIA_STREAM_ID)
          assert.deepEqual(
            rtmpMessage(type, dts, p.data, size, MEDIA_STREAM_ID),
            nms,
            `type ${type} size ${size} dts ${dts}`,
          )
        }
  })

  test('a kept message copies its body: the packet buffer may change after', () => {
    const p = packet(TAG_VIDEO, 40, 100)
    const c = new Cached(TAG_VIDEO, KEYFRAME, 40, p.data, p.size)
    const before = Buffer.from(c.rtmp)
    p.data.fill(0)
    assert.deepEqual(c.body, Buffer.from(packet(TAG_VIDEO, 40, 100).data.subarray(0, 100)))
    assert.deepEqual(c.rtmp, before)
    assert.equal(c.rtmp, c.rtmp, 'the RTMP form is built once')
  })
})

/** A message of `flags` at `dts`, `size` bytes. */
function msg(flags: number, dts: number, size = 100): Cached {
  const type =
    flags === METADATA ? TAG_SCRIPT : flags === AUDIO_HEADER || flags === AUDIO_FRAME ? TAG_AUDIO : TAG_VIDEO
  return new Cached(type, flags, dts, Buffer.alloc(size), size)
}

const kinds = (cs: readonly Cached[]) => cs.map((c) => `${c.flags}@${c.dts}`)
/** The keyframes a new player (or a pull) gets, by dts. */
const keyframes = (cache: MediaCache, pull = false) =>
  cache
    .forPlayer(pull)
    .filter((c) => c.flags === KEYFRAME)
    .map((c) => c.dts)

/** Feeds `seconds` of a stream: a keyframe each `gopMs`, 25 frames a second, audio every 23 ms when `audio`. */
function feed(
  cache: MediaCache,
  single: SingleTrack,
  seconds: number,
  opts: { gopMs: number; audio: boolean; video: boolean },
) {
  const events: Cached[] = []
  for (let t = 0; t < seconds * 1000; t++) {
    if (opts.video && t % 40 === 0) events.push(msg(t % opts.gopMs === 0 ? KEYFRAME : INTER_FRAME, t))
    if (opts.audio && t % 23 === 0) events.push(msg(AUDIO_FRAME, t, 300))
  }
  for (const e of events) cache.add(e, single)
}

describe('what a stream keeps for the next player', () => {
  test('audio and video: metadata, the headers, then the GOP since the last keyframe (and no more)', () => {
    const cache = new MediaCache()
    for (const c of [msg(METADATA, 0), msg(AUDIO_HEADER, 0), msg(VIDEO_HEADER, 0)]) cache.add(c, null)
    feed(cache, null, 5, { gopMs: 1000, audio: true, video: true })
    const got = cache.forPlayer(false)
    assert.deepEqual(kinds(got.slice(0, 3)), ['5@0', '0@0', '2@0'])
    assert.equal(got[3]?.flags, KEYFRAME)
    assert.equal(got[3]?.dts, 4000)
    assert.ok(got.slice(4).every((c) => c.dts > 4000 && c.flags !== KEYFRAME))
    assert.deepEqual(kinds(cache.forPlayer(true)), kinds(got), 'a pull gets the same: there is no burst')
  })

  test('before the first keyframe nothing but headers is kept (as node-media-server)', () => {
    const cache = new MediaCache()
    cache.add(msg(VIDEO_HEADER, 0), null)
    cache.add(msg(INTER_FRAME, 40), null)
    cache.add(msg(AUDIO_FRAME, 40), null)
    assert.deepEqual(kinds(cache.forPlayer(false)), ['2@0'])
  })

  test('video only: whole GOPs back to 3 s before the last keyframe; a pull gets the last GOP only', () => {
    const cache = new MediaCache()
    feed(cache, 'video', 10, { gopMs: 1000, audio: false, video: true })
    assert.deepEqual(keyframes(cache), [9000 - VIDEO_BURST_MS, 7000, 8000, 9000])
    assert.deepEqual(keyframes(cache, true), [9000])
  })

  test('audio only: the last 64 KiB of audio frames, at most 8 s of them; a pull gets none', () => {
    const cache = new MediaCache()
    cache.add(msg(AUDIO_HEADER, 0), 'audio')
    feed(cache, 'audio', 20, { gopMs: 1000, audio: true, video: false })
    const frames = cache.forPlayer(false).filter((c) => c.flags === AUDIO_FRAME)
    const bytes = frames.reduce((n, c) => n + c.bytes, 0)
    assert.ok(bytes <= AUDIO_BURST_BYTES, `${bytes} bytes`)
    assert.ok(bytes > AUDIO_BURST_BYTES - 400, `${bytes} bytes: the burst is full`)
    assert.ok((frames.at(-1)?.dts ?? 0) - (frames[0]?.dts ?? 0) <= AUDIO_BURST_MS)
    assert.deepEqual(kinds(cache.forPlayer(true)), ['0@0'])
    // small frames: the time bound holds first
    const small = new MediaCache()
    for (let t = 0; t < 20_000; t += 23) small.add(msg(AUDIO_FRAME, t, 10), 'audio')
    const kept = small.forPlayer(false)
    assert.ok((kept.at(-1)?.dts ?? 0) - (kept[0]?.dts ?? 0) <= AUDIO_BURST_MS)
    assert.ok((kept.at(-1)?.dts ?? 0) - (kept[0]?.dts ?? 0) > AUDIO_BURST_MS - 50)
  })

  test('a video-only stream that gets audio drops its burst; clear() forgets everything', () => {
    const cache = new MediaCache()
    feed(cache, 'video', 5, { gopMs: 1000, audio: false, video: true })
    cache.add(msg(AUDIO_FRAME, 4990), null)
    assert.deepEqual(keyframes(cache), [4000])
    cache.clear()
    assert.deepEqual(cache.forPlayer(false), [])
    assert.equal(cache.newest(), null)
  })

  test('a GOP of over 4096 messages is dropped, as node-media-server drops it', () => {
    const cache = new MediaCache()
    cache.add(msg(KEYFRAME, 0), null)
    for (let i = 1; i <= 4096; i++) cache.add(msg(INTER_FRAME, i), null)
    assert.equal(cache.forPlayer(false).length, 0)
    cache.add(msg(INTER_FRAME, 5000), null)
    assert.deepEqual(kinds(cache.forPlayer(false)), ['4@5000'])
  })
})
