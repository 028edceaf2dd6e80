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
import type { AVPacket, BroadcastServer } from './nms.ts'

/** Icecast's default burst-size: 8 s of a 64 kb/s stream. */
export const AUDIO_BURST_BYTES = 64 * 1024
export const AUDIO_BURST_MS = 8000
export const VIDEO_BURST_MS = 3000

/** NMS's two caches of one GOP: the same messages in FLV and RTMP form, in the same order. */
interface Gop {
  dts: number
  flv: Buffer[]
  rtmp: Buffer[]
}

/** the GOPs before the current one, and how many of their messages lead NMS's caches now */
const earlier = new WeakMap<BroadcastServer, { gops: Gop[]; leading: number }>()

/** After an audio frame of an audio-only stream was broadcast: the cache, trimmed to the burst. */
export function keepAudioBurst(b: BroadcastServer, p: AVPacket): void {
  const flv = b.flvGopCache
  const rtmp = b.rtmpGopCache
  if (flv === null || rtmp === null) {
    // NMS adds the frames that follow to these sets (broadcastMessage, flags 1)
    b.flvGopCache = new Set()
    b.rtmpGopCache = new Set()
    return
  }
  let bytes = 0
  for (const tag of flv) bytes += tag.length
  for (const tag of flv) {
    if (bytes <= AUDIO_BURST_BYTES && p.dts - flvTagDts(tag) <= AUDIO_BURST_MS) break
    bytes -= tag.length
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
    state.gops.push({ dts: flvTagDts(gop.flv[0] as Buffer), ...gop })
  },
  after(b: BroadcastServer, keyframe: AVPacket): void {
    const state = earlier.get(b)
    if (state === undefined || b.flvGopCache === null || b.rtmpGopCache === null) return
    state.gops = state.gops.filter((g) => keyframe.dts - g.dts <= VIDEO_BURST_MS)
    const flv = state.gops.flatMap((g) => g.flv)
    state.leading = flv.length
    if (flv.length === 0) return
    b.flvGopCache = new Set([...flv, ...b.flvGopCache])
    b.rtmpGopCache = new Set([...state.gops.flatMap((g) => g.rtmp), ...b.rtmpGopCache])
  },
}

/** Forgets the earlier GOPs (the stream got audio, or a new publisher). */
export function dropBurst(b: BroadcastServer): void {
  earlier.delete(b)
}

/** The timestamp of a serialised FLV tag (24 bits, then the extension byte). */
function flvTagDts(tag: Buffer): number {
  return (((tag[7] ?? 0) << 24) | ((tag[4] ?? 0) << 16) | ((tag[5] ?? 0) << 8) | (tag[6] ?? 0)) >>> 0
}
