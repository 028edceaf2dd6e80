// A meshcast edge pulling a stream is not a viewer: cut as a slow player it
// re-pulls and its players all stall (13.7-17 s measured at 15 % loss), and
// it would take the same bytes again. So a pull that falls behind skips
// frames up to the next keyframe instead: its players see a jump, not a
// stall. An edge marks its pull by the stream name it plays
// (`name?meshcast=pull`, PULL_MARK); a stranger claiming that only gets its
// frames dropped, which costs this node nothing.
import {
  AAC_SEQUENCE_HEADER,
  AVC_SEQUENCE_HEADER,
  EX_SEQUENCE_START,
  FRAME_COMMAND,
  FRAME_KEY,
  isExVideo,
  SOUND_AAC,
  soundFormat,
  TAG_AUDIO,
  TAG_VIDEO,
  VIDEO_CODEC_AVC,
  VIDEO_CODEC_HEVC,
  videoCodecOrPacketType,
  videoFrameType,
} from '@meshcast/interface'
import { type BaseSession, RtmpSession } from '../nms/nms.ts'
import { PULL_MARK } from '../startup-burst.ts'

/** A pull further behind than this skips to the next keyframe (~2.7 s of a 3 Mbit/s stream). */
export const PULL_SKIP_BYTES = 1024 * 1024
/** A skipping pull resumes at a keyframe once its backlog is down to this share of the skip point. */
const RESUME_SHARE = 0.5

const [MARK_KEY = '', MARK_VALUE = ''] = PULL_MARK.split('=')

/** Whether a player is an edge's pull (RTMP, played with PULL_MARK). */
export function isClusterPull(s: BaseSession): s is RtmpSession {
  return s instanceof RtmpSession && s.streamQuery?.[MARK_KEY] === MARK_VALUE
}

/** What a pull's skipping did: for logs and tests. */
export interface SkipStats {
  skipping: boolean
  /** spells of skipping begun */
  spells: number
  /** media messages not sent */
  skipped: number
}

const stats = new WeakMap<RtmpSession, SkipStats>()

/** The stats of a pull `skipToKeyframes` watches, or undefined. */
export function skipStats(s: BaseSession): SkipStats | undefined {
  return s instanceof RtmpSession ? stats.get(s) : undefined
}

/**
 * From now on, a message to `session` finding more than `skipBytes` queued
 * is not sent, nor is any media after it, until a keyframe (audio only: an
 * audio frame) finds the queue down to half that. Headers and metadata
 * always go. NMS writes each message as its own type-0 chunk stream, so
 * whole messages can be left out. `onSpell` tells each spell's start.
 */
export function skipToKeyframes(
  session: RtmpSession,
  skipBytes: number,
  onSpell: (backlog: number) => void,
): void {
  if (stats.has(session)) return
  const st: SkipStats = { skipping: false, spells: 0, skipped: 0 }
  stats.set(session, st)
  let video = false
  const send = session.sendBuffer
  session.sendBuffer = (buffer: Buffer) => {
    const kind = messageKind(buffer)
    if (kind === 'keyframe' || kind === 'video') video = true
    if (kind === 'other') return send(buffer)
    const backlog = session.socket.writableLength
    if (!st.skipping && backlog > skipBytes) {
      st.skipping = true
      st.spells++
      onSpell(backlog)
    }
    if (st.skipping) {
      const restart = kind === 'keyframe' || (!video && kind === 'audio')
      if (!restart || backlog > skipBytes * RESUME_SHARE) {
        st.skipped++
        return
      }
      st.skipping = false
    }
    send(buffer)
  }
}

type MessageKind = 'keyframe' | 'video' | 'audio' | 'other'

/** What one RTMP message (a type-0 chunk stream from NMS's Rtmp.createMessage) carries. */
export function messageKind(m: Buffer): MessageKind {
  // basic header of one byte (NMS's audio and video chunk streams are < 64), fmt 0
  const basic = m[0] ?? 0xff
  if (m.length < 13 || basic >> 6 !== 0 || (basic & 0x3f) < 2) return 'other'
  const type = m[7]
  const at = m.readUIntBE(1, 3) === 0xffffff ? 16 : 12
  const b0 = m[at] ?? 0
  const b1 = m[at + 1] ?? 0
  if (type === TAG_AUDIO)
    return soundFormat(b0) === SOUND_AAC && b1 === AAC_SEQUENCE_HEADER ? 'other' : 'audio'
  if (type !== TAG_VIDEO) return 'other'
  const frame = videoFrameType(b0)
  if (isExVideo(b0)) {
    // a command frame carries no picture; the sequence start is a header
    if (videoCodecOrPacketType(b0) === EX_SEQUENCE_START || frame === FRAME_COMMAND) return 'other'
    return frame === FRAME_KEY ? 'keyframe' : 'video'
  }
  const codec = videoCodecOrPacketType(b0)
  if ((codec === VIDEO_CODEC_AVC || codec === VIDEO_CODEC_HEVC) && b1 === AVC_SEQUENCE_HEADER) return 'other'
  return frame === FRAME_KEY ? 'keyframe' : 'video'
}
