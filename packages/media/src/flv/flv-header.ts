// node-media-server starts every FLV player with a header that declares
// audio and video whatever the stream has (broadcast_server.js builds it
// once, `createHeader(true, true)`). ffmpeg then probes for the missing
// track (39 s to the first frame of a video-only stream; an audio-only one
// never starts) and VLC never starts. Here a player's header declares the
// tracks the stream has; a player that comes before anything is known waits
// for the stream's first frame, with the metadata and sequence headers that
// precede it held back.
import { TAG_AUDIO, TAG_HEADER_BYTES, TAG_VIDEO } from '@meshcast/interface'
import { cacheIfAny } from '../fanout/media-cache.ts'
import { Flv, type FlvSession } from '../nms/nms.ts'
import { type Tracks, tracksOf } from '../stream-facts.ts'
import { isMediaFrame } from './flv-kinds.ts'

/** FLV signature bytes ("FLV", version 1). */
const FLV_SIGNATURE = Buffer.from('FLV\x01', 'latin1')
/** Tags held before a frame: metadata and headers; past this, decide with what is known. */
const MAX_HELD = 8
/** Without any word on the tracks: what NMS always said. */
const BOTH: Tracks = { audio: true, video: true }

/** Makes the session's FLV header declare the stream's tracks; call before `session.run()`. */
export function declareTracks(session: FlvSession): void {
  const send = session.sendBuffer
  let held: Buffer[] | null = null
  let started = false
  const start = (tracks: Tracks) => {
    started = true
    send(Flv.createHeader(tracks.audio, tracks.video))
    for (const tag of held ?? []) send(tag)
    held = null
  }
  session.sendBuffer = (buffer: Buffer) => {
    if (started) return send(buffer)
    if (held === null && isFlvHeader(buffer)) {
      const tracks = tracksOf(session.broadcast)
      if (tracks !== null) start(tracks)
      else held = []
      return
    }
    if (held === null) return send(buffer) // not a header first: leave NMS's order alone
    held.push(buffer)
    if (isFrameTag(buffer) || held.length >= MAX_HELD)
      start(tracksOf(session.broadcast) ?? cached(session) ?? BOTH)
  }
}

function isFlvHeader(buffer: Buffer): boolean {
  return buffer.length === 13 && buffer.subarray(0, 4).equals(FLV_SIGNATURE)
}

/** Without word from the stream itself: the sequence headers kept (a publisher resuming keeps them). */
function cached(session: FlvSession): Tracks | null {
  const cache = cacheIfAny(session.broadcast)
  const audio = (cache?.audioHeader ?? null) !== null
  const video = (cache?.videoHeader ?? null) !== null
  return audio || video ? { audio, video } : null
}

/** Smallest audio / video tag bodies NMS's parser reads without running past them. */
const MIN_BODY = { [TAG_AUDIO]: 2, [TAG_VIDEO]: 5 }

/** An audio or video tag that is a frame, not a sequence header (false for anything too short to tell). */
export function isFrameTag(tag: Buffer): boolean {
  const type = tag[0]
  if ((type !== TAG_AUDIO && type !== TAG_VIDEO) || tag.length < TAG_HEADER_BYTES) return false
  const size = tag.readUIntBE(1, 3)
  if (size < MIN_BODY[type] || tag.length < TAG_HEADER_BYTES + size) return false
  const p = Flv.parserTag(type, 0, size, tag.subarray(TAG_HEADER_BYTES, TAG_HEADER_BYTES + size))
  return isMediaFrame({ codec_type: type, flags: p.flags })
}
