// What a packet is, in the numbers node-media-server's AVPacket carries:
// the FLV tag type (= RTMP message type) and NMS's `flags`.

/** `codec_type`: FLV tag types. */
export const AUDIO = 8
export const VIDEO = 9
export const DATA = 18

/** `flags`, as NMS's Flv.parserTag sets them. */
export const AUDIO_HEADER = 0
export const AUDIO_FRAME = 1
export const VIDEO_HEADER = 2
export const KEYFRAME = 3
export const INTER_FRAME = 4
export const METADATA = 5

/** An audio or video frame, not a sequence header nor metadata: what proves a stream plays. */
export function isMediaFrame(p: { readonly codec_type: number; readonly flags: number }): boolean {
  if (p.codec_type === AUDIO) return p.flags === AUDIO_FRAME
  return p.codec_type === VIDEO && (p.flags === KEYFRAME || p.flags === INTER_FRAME)
}

/** Legacy FLV video codec id of H.264. */
export const AVC = 7

/** An Enhanced RTMP FourCC (`hvc1`, `av01`, …) as the big-endian uint32 NMS reports as `codec_id`. */
export function fourcc(s: string): number {
  return Buffer.from(s, 'latin1').readUInt32BE(0)
}
