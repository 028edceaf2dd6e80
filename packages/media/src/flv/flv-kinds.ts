// What a packet is, in the numbers node-media-server's AVPacket carries:
// `codec_type` is the FLV tag type (TAG_AUDIO, TAG_VIDEO, TAG_SCRIPT from
// @meshcast/interface's flv.ts, with FLV's other wire numbers); `flags` is
// NMS's own classification, here.
import { TAG_AUDIO, TAG_VIDEO } from '@meshcast/interface'

/** `flags`, as NMS's Flv.parserTag sets them. */
export const AUDIO_HEADER = 0
export const AUDIO_FRAME = 1
export const VIDEO_HEADER = 2
export const KEYFRAME = 3
export const INTER_FRAME = 4
export const METADATA = 5

/** An audio or video frame, not a sequence header nor metadata: what proves a stream plays. */
export function isMediaFrame(p: { readonly codec_type: number; readonly flags: number }): boolean {
  if (p.codec_type === TAG_AUDIO) return p.flags === AUDIO_FRAME
  return p.codec_type === TAG_VIDEO && (p.flags === KEYFRAME || p.flags === INTER_FRAME)
}
