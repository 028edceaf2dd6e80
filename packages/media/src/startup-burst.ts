// A stream with one track starts slowly in the players people use: ffmpeg
// (libavformat, which VLC's FLV demuxing uses too) reads 5 s of stream time
// of a single-track FLV before it starts, whatever the FLV header says, and
// VLC first probes a few tens of kilobytes to pick a demuxer. node-media-
// server gives a new player only the GOP from the last video keyframe (an
// audio-only stream: nothing). So a single-track stream keeps more for new
// players, as Icecast's burst-on-connect does for radio:
// - audio only: the last AUDIO_BURST_BYTES of audio, at most AUDIO_BURST_MS;
// - video only: whole GOPs back to VIDEO_BURST_MS before the last keyframe.
// A new player then starts up to that far behind live (a player that wants
// less, e.g. ffmpeg `-analyzeduration 1000000`, can skip ahead); streams
// with audio and video keep NMS's one GOP.
import { PREVIOUS_TAG_SIZE_BYTES, TAG_HEADER_BYTES, tagTimestamp } from '@meshcast/interface'
import { type AVPacket, type BroadcastServer, Context, type RtmpSession } from './nms/nms.ts'

/** Icecast's default burst-size: 8 s of a 64 kb/s stream. */
export const AUDIO_BURST_BYTES = 64 * 1024
export const AUDIO_BURST_MS = 8000
export const VIDEO_BURST_MS = 3000
/** The earlier GOPs of a video burst hold at most this much (3 s of a 10 Mbit/s stream). */
export const VIDEO_BURST_BYTES = 4 * 1024 * 1024
/**
 * What an edge's pull adds to the stream name it plays (`name?meshcast=pull`):
 * a pull wants live media, not a burst. A burst 8 s back would make the
 * edge's rebaser append it after what its players have (a new timeline):
 * 8 s replayed and 8 s more latency at every failover.
 */
export const PULL_MARK = 'meshcast=pull'

/** NMS's two caches of one GOP: the same messages in FLV and RTMP form, in the same order. */
interface Gop {
  dts: number
  flv: Buffer[]
  rtmp: Buffer[]
}

/** the GOPs before the current one, and how many of their messages lead NMS's caches now */
const earlier = new WeakMap<BroadcastServer, { gops: Gop[]; leading: number }>()
/** audio-only streams whose caches are a burst (NMS keeps none for them), with the bytes held */
const audioBursts = new WeakMap<BroadcastServer, { bytes: number }>()

/** After an audio frame of an audio-only stream was broadcast: the cache, trimmed to the burst. */
export function keepAudioBurst(b: BroadcastServer, p: AVPacket): void {
  const flv = b.flvGopCache
  const rtmp = b.rtmpGopCache
  const held = audioBursts.get(b)
  if (flv === null || rtmp === null || held === undefined) {
    // NMS adds the frames that follow to these sets (broadcastMessage, flags 1)
    b.flvGopCache = new Set()
    b.rtmpGopCache = new Set()
    audioBursts.set(b, { bytes: 0 })
    return
  }
  held.bytes += TAG_HEADER_BYTES + p.size + PREVIOUS_TAG_SIZE_BYTES
  for (const tag of flv) {
    if (held.bytes <= AUDIO_BURST_BYTES && p.dts - tagTimestamp(tag) <= AUDIO_BURST_MS) break
    held.bytes -= tag.length
    flv.delete(tag)
    const first = rtmp.values().next()
    if (!first.done) rtmp.delete(first.value)
  }
}

/**
 * Around a keyframe of a video-only stream: NMS starts a new GOP cache with
 * it (`before` saves the GOP it drops), and `after` puts the earlier GOPs
 * of the burst back in front.
 */
export const videoBurst = {
  before(b: BroadcastServer): void {
    const flv = b.flvGopCache
    const rtmp = b.rtmpGopCache
    const state = earlier.get(b) ?? { gops: [], leading: 0 }
    earlier.set(b, state)
    if (flv === null || rtmp === null || flv.size <= state.leading) return
    // the GOP that ends now: what NMS cached after the earlier GOPs put in front of it
    const gop = { flv: [...flv].slice(state.leading), rtmp: [...rtmp].slice(state.leading) }
    state.gops.push({ dts: tagTimestamp(gop.flv[0] as Buffer), ...gop })
  },
  after(b: BroadcastServer, keyframe: AVPacket): void {
    const state = earlier.get(b)
    if (state === undefined || b.flvGopCache === null || b.rtmpGopCache === null) return
    state.gops = state.gops.filter((g) => keyframe.dts - g.dts <= VIDEO_BURST_MS)
    while (state.gops.length > 0 && bytesOf(state.gops) > VIDEO_BURST_BYTES) state.gops.shift()
    const flv = state.gops.flatMap((g) => g.flv)
    state.leading = flv.length
    if (flv.length === 0) return
    b.flvGopCache = new Set([...flv, ...b.flvGopCache])
    b.rtmpGopCache = new Set([...state.gops.flatMap((g) => g.rtmp), ...b.rtmpGopCache])
  },
}

/** Forgets the earlier GOPs (the stream got audio, or a new publisher or upstream). */
export function dropBurst(b: BroadcastServer): void {
  earlier.delete(b)
  audioBursts.delete(b)
}

/**
 * Makes a marked pull (`PULL_MARK`) get only what NMS would give it, the
 * GOP since the last keyframe, while its `play` attaches it (NMS sends the
 * caches then, synchronously). Call before `session.run()`.
 */
export function noBurstForPulls(session: RtmpSession): void {
  const rtmp = session.rtmp
  const onPlay = rtmp.onPlay.bind(rtmp)
  rtmp.onPlay = (message) => {
    const [name = '', query = ''] = String(message.streamName ?? '').split('?')
    const b = Context.broadcasts.get(`/${rtmp.streamApp}/${name}`)
    if (b === undefined || !query.split('&').includes(PULL_MARK)) return onPlay(message)
    const flv = b.flvGopCache
    const rtmpCache = b.rtmpGopCache
    const leading = earlier.get(b)?.leading ?? 0
    if (audioBursts.has(b)) {
      b.flvGopCache = null
      b.rtmpGopCache = null
    } else if (flv !== null && rtmpCache !== null && leading > 0) {
      b.flvGopCache = new Set([...flv].slice(leading))
      b.rtmpGopCache = new Set([...rtmpCache].slice(leading))
    }
    try {
      onPlay(message)
    } finally {
      b.flvGopCache = flv
      b.rtmpGopCache = rtmpCache
    }
  }
}

function bytesOf(gops: readonly Gop[]): number {
  let n = 0
  for (const g of gops) for (const tag of g.flv) n += tag.length
  return n
}
