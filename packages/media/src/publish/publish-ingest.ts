// The way in for a publisher's packets on this node (RTMP publishers; a
// pull's packets go through Feed). node-media-server hands every parsed
// message straight to the broadcast; on the way, here:
// - only audio, video and `onMetaData` pass, stripped of `@setDataFrame`
//   (what players expect, as an edge already sends; NMS would cache any data
//   message as the metadata, and AMF3 data as an audio header);
// - only the path's publisher feeds it (NMS broadcasts a refused second
//   publisher's packets until its socket closes);
// - one timeline per path across publishers: NMS resumes "the same client"
//   (same IP, within its 30 s grace) with a dts offset per track taken from
//   each track's last dts, which shifts audio against video by hundreds of
//   ms at every kept player; and another client restarts the timestamps from
//   0 under kept players. The Rebaser (one offset for both tracks, appended
//   after what was sent) does for a republish what it does for an edge's
//   upstream switch.
import { type Logger, TAG_VIDEO, VIDEO_CODEC_AVC } from '@meshcast/interface'
import { KEYFRAME, VIDEO_HEADER } from '../flv/flv-kinds.ts'
import type { AVPacket, BroadcastServer, RtmpSession } from '../nms/nms.ts'
import { Rebaser } from '../pull/rebaser.ts'
import { resetFacts } from '../stream-facts.ts'
import { admit, broadcast, rebase } from './ingest.ts'

interface Timeline {
  readonly rebaser: Rebaser
  /** the session that fed it last */
  session: string | null
  /** that session was told its H.264 has no usable sequence header */
  warnedAnnexB: boolean
}

const timelines = new WeakMap<BroadcastServer, Timeline>()

/** Routes a publisher session's packets through `ingest`; call before `session.run()`. */
export function ingestPublished(session: RtmpSession, log: Logger): void {
  session.onPacket = (p: AVPacket) => ingest(session, p, log)
}

function ingest(session: RtmpSession, p: AVPacket, log: Logger): void {
  const b = session.broadcast
  if (b.publisher !== session || !admit(p)) return
  const timeline = timelineOf(b, session, log)
  if (!timeline.warnedAnnexB && isAnnexBAvc(p)) {
    timeline.warnedAnnexB = true
    log.warn(
      'the publisher sends H.264 without an AVC sequence header (Annex B start codes): many players cannot decode it',
      {
        path: b.streamPath,
        remote: session.ip,
        hint: "ffmpeg's tee muxer needs -flags +global_header",
      },
    )
  }
  const out = timeline.rebaser.map(p)
  if (out === null) return
  rebase(p, out)
  broadcast(b, p, session)
}

function timelineOf(b: BroadcastServer, session: RtmpSession, log: Logger): Timeline {
  let t = timelines.get(b)
  if (t === undefined) {
    const path = b.streamPath
    t = {
      rebaser: new Rebaser({
        onAnchor: (a) => log[a.kind === 'first' ? 'debug' : 'info']('timeline anchor', { path, ...a }),
      }),
      session: null,
      warnedAnnexB: false,
    }
    timelines.set(b, t)
  }
  if (t.session !== session.id) {
    if (t.session !== null) t.rebaser.switchUpstream()
    t.session = session.id
    t.warnedAnnexB = false
    resetFacts(b)
  }
  return t
}

/**
 * Legacy H.264 that players cannot set up: a sequence header with no
 * AVCDecoderConfigurationRecord in it, or a keyframe in Annex B form (start
 * codes, not lengths): what ffmpeg's tee muxer sends without
 * `-flags +global_header`.
 */
export function isAnnexBAvc(p: AVPacket): boolean {
  if (p.codec_type !== TAG_VIDEO || p.codec_id !== VIDEO_CODEC_AVC) return false
  const d = p.data
  if (p.flags === VIDEO_HEADER) return p.size < 5 + 7 || d[5] !== 1
  if (p.flags !== KEYFRAME || p.size < 9) return false
  const startCode = d[5] === 0 && d[6] === 0 && (d[7] === 1 || (d[7] === 0 && d[8] === 1))
  return startCode && !lengthsTile(d, 5, p.size)
}

/** Whether 4-byte NAL lengths from `from` cover [from, end) exactly (AVCC); a start code rarely does. */
function lengthsTile(d: Buffer, from: number, end: number): boolean {
  let at = from
  while (at + 4 <= end) at += 4 + d.readUInt32BE(at)
  return at === end
}
