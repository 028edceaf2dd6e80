// One media message in the two forms players take: an FLV tag (HTTP-FLV and
// WS-FLV) and an RTMP message. The bytes are node-media-server's own
// (Flv.createMessage, Rtmp.createMessage: a type-0 chunk on the track's chunk
// stream, 65535-byte chunks), built without its zero-filled allocations, and
// for the message stream id players play (rtmp-stream-id.ts).
import { PREVIOUS_TAG_SIZE_BYTES, TAG_AUDIO, TAG_HEADER_BYTES, TAG_VIDEO } from '@meshcast/interface'

/** NMS's chunk streams for media (rtmp.js RTMP_CHANNEL_*): one for each track and one for data. */
const CHUNK_STREAM = { audio: 4, video: 5, data: 6 }
/** NMS's outgoing chunk size (RTMP_MAX_CHUNK_SIZE), which it announces to every player. */
export const OUT_CHUNK_SIZE = 0xffff
/** basic header (1 byte: chunk streams 2-63) + type-0 message header (11 bytes) */
const TYPE_0_BYTES = 12
/** A timestamp this large goes in the extended field (4 more bytes after each chunk's header). */
const EXTENDED = 0xffffff
const FMT_3 = 0xc0

/** The FLV tag of `body` (the first `size` bytes): header, body, PreviousTagSize. */
export function flvTag(type: number, dts: number, body: Buffer, size: number): Buffer {
  const tag = Buffer.allocUnsafe(TAG_HEADER_BYTES + size + PREVIOUS_TAG_SIZE_BYTES)
  tag[0] = type
  tag.writeUIntBE(size, 1, 3)
  tag[4] = (dts >> 16) & 0xff
  tag[5] = (dts >> 8) & 0xff
  tag[6] = dts & 0xff
  tag[7] = (dts >> 24) & 0xff
  // the stream id, always 0
  tag[8] = 0
  tag[9] = 0
  tag[10] = 0
  body.copy(tag, TAG_HEADER_BYTES, 0, size)
  tag.writeUInt32BE(TAG_HEADER_BYTES + size, TAG_HEADER_BYTES + size)
  return tag
}

/** The RTMP message of `body` (the first `size` bytes) on message stream `streamId`. */
export function rtmpMessage(type: number, dts: number, body: Buffer, size: number, streamId: number): Buffer {
  const cid =
    type === TAG_AUDIO ? CHUNK_STREAM.audio : type === TAG_VIDEO ? CHUNK_STREAM.video : CHUNK_STREAM.data
  const extended = dts >= EXTENDED
  const ext = extended ? 4 : 0
  const continuations = size === 0 ? 0 : Math.ceil(size / OUT_CHUNK_SIZE) - 1
  const m = Buffer.allocUnsafe(TYPE_0_BYTES + ext + size + continuations * (1 + ext))
  m[0] = cid
  m.writeUIntBE(extended ? EXTENDED : dts, 1, 3)
  m.writeUIntBE(size, 4, 3)
  m[7] = type
  m.writeUInt32LE(streamId >>> 0, 8)
  let at = TYPE_0_BYTES
  if (extended) at = m.writeUInt32BE(dts, at)
  for (let from = 0; from < size; from += OUT_CHUNK_SIZE) {
    if (from > 0) {
      m[at++] = FMT_3 | cid
      if (extended) at = m.writeUInt32BE(dts, at)
    }
    at += body.copy(m, at, from, Math.min(size, from + OUT_CHUNK_SIZE))
  }
  return m
}
