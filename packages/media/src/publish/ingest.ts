// The one road into a stream's broadcast, for a publisher's packets
// (publish-ingest.ts) and a pull's (feed.ts): what passes, what the stream
// learns from it, then out to its players (fanout/).
import { TAG_AUDIO, TAG_SCRIPT, TAG_VIDEO } from '@meshcast/interface'
import { fanOut } from '../fanout/fanout.ts'
import type { AVPacket, BaseSession, BroadcastServer } from '../nms/nms.ts'
import { metadataBody, signedPts } from '../pull/packet-filter.ts'
import { noteAfterBroadcast, noteBeforeBroadcast, singleTrack } from '../stream-facts.ts'

/**
 * Whether `p` may go on, fixed up: audio, video and `onMetaData` only (the
 * body without `@setDataFrame`; NMS would cache any data message as the
 * metadata, and AMF3 data as an audio header), AVC composition times
 * signed. Mutates `p`.
 */
export function admit(p: AVPacket): boolean {
  if (p.codec_type !== TAG_AUDIO && p.codec_type !== TAG_VIDEO && p.codec_type !== TAG_SCRIPT) return false
  if (p.codec_type === TAG_SCRIPT) {
    const body = metadataBody(p.data.subarray(0, p.size))
    if (body === null) return false
    p.data = body
    p.size = body.length
  }
  if (p.codec_type === TAG_VIDEO) p.pts = signedPts(p.dts, p.pts)
  return true
}

/** Moves `p` to the output dts `out` (pts keeps its distance). */
export function rebase(p: AVPacket, out: number): void {
  p.pts += out - p.dts
  p.dts = out
}

/** Broadcasts `p` from `publisher`, noting what the stream carries. */
export function broadcast(b: BroadcastServer, p: AVPacket, publisher: BaseSession): void {
  noteBeforeBroadcast(b, p, publisher)
  fanOut(b, p, singleTrack(b))
  noteAfterBroadcast(p, publisher)
}
