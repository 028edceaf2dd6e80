// node-media-server caches a GOP for new players only from a video keyframe
// on: a new player of an audio-only stream gets nothing but live audio, and
// ffmpeg, which reads 5 s of a single-track FLV stream before it starts
// (its analyzeduration), took 5.3 s to start one. Here an audio-only stream
// keeps its last AUDIO_CACHE_MS of audio in NMS's GOP caches, as a video
// stream keeps its last GOP: a new player starts up to that far behind live,
// and ffmpeg starts that much sooner.
import type { AVPacket, BroadcastServer } from './nms.ts'

/** How much audio an audio-only stream keeps for new players. */
export const AUDIO_CACHE_MS = 2000

/** After an audio frame of an audio-only stream was broadcast: keep the cache, trimmed to the window. */
export function keepAudio(b: BroadcastServer, p: AVPacket): void {
  if (b.flvGopCache === null || b.rtmpGopCache === null) {
    // NMS adds the frames that follow to these sets (broadcastMessage, flags 1)
    b.flvGopCache = new Set()
    b.rtmpGopCache = new Set()
    return
  }
  const rtmp = b.rtmpGopCache
  for (const tag of b.flvGopCache) {
    if (p.dts - flvTagDts(tag) <= AUDIO_CACHE_MS) break
    b.flvGopCache.delete(tag)
    // the two caches hold the same messages in the same order
    const first = rtmp.values().next()
    if (!first.done) rtmp.delete(first.value)
  }
}

/** The timestamp of a serialised FLV tag (24 bits, then the extension byte). */
function flvTagDts(tag: Buffer): number {
  return (((tag[7] ?? 0) << 24) | ((tag[4] ?? 0) << 16) | ((tag[5] ?? 0) << 8) | (tag[6] ?? 0)) >>> 0
}
