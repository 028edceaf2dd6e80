// What a stream on this node carries, learnt from the packets that feed it
// (a publisher here, or a pull's stand-in): which tracks, and the codecs and
// picture size when the publisher sent no metadata. FLV players need the
// tracks before the first byte (the FLV header's flags: ffmpeg and VLC wait
// for a track declared there that never comes), and /api/streams the codecs.
import {
  fourcc,
  SOUND_AAC,
  TAG_AUDIO,
  TAG_SCRIPT,
  TAG_VIDEO,
  VIDEO_CODEC_AVC,
  VIDEO_CODEC_HEVC,
} from '@meshcast/interface'
import { cacheIfAny, type SingleTrack } from './fanout/media-cache.ts'
import { AUDIO_HEADER, INTER_FRAME, KEYFRAME, VIDEO_HEADER } from './flv/flv-kinds.ts'
import { AMF, type AVPacket, type BaseSession, type BroadcastServer, SpsInfo } from './nms/nms.ts'

export interface Tracks {
  audio: boolean
  video: boolean
}

interface Facts {
  audio: boolean
  video: boolean
  /** an audio or video frame (not a header) came: every header an encoder sends first is in */
  frames: boolean
  /** the tracks the metadata declares, or null without metadata */
  declared: Tracks | null
}

/** FourCC codec ids of Enhanced RTMP → the legacy FLV ids the rest of meshcast names (0: no legacy id). */
const FOURCC_TO_LEGACY: Record<number, number> = {
  [fourcc('hvc1')]: VIDEO_CODEC_HEVC,
  [fourcc('av01')]: 13,
  [fourcc('mp4a')]: SOUND_AAC,
  [fourcc('.mp3')]: 2,
  [fourcc('Opus')]: 13,
}

const facts = new WeakMap<BroadcastServer, Facts>()

/** Forgets what was learnt: a new publisher may carry other tracks. */
export function resetFacts(b: BroadcastServer): void {
  facts.delete(b)
  cacheIfAny(b)?.dropBurst()
}

/**
 * Learns from a packet about to be broadcast, and fills the publisher's
 * codec fields the metadata left empty (or that no metadata set).
 */
export function noteBeforeBroadcast(b: BroadcastServer, p: AVPacket, publisher: BaseSession): void {
  const f = factsOf(b)
  if (p.codec_type === TAG_AUDIO) {
    f.audio = true
    if (p.flags !== AUDIO_HEADER) f.frames = true
    if (!publisher.audioCodec) publisher.audioCodec = p.codec_id
  } else if (p.codec_type === TAG_VIDEO) {
    f.video = true
    if (p.flags === KEYFRAME || p.flags === INTER_FRAME) f.frames = true
    if (p.flags === VIDEO_HEADER) fillVideo(publisher, p)
  } else if (p.codec_type === TAG_SCRIPT) {
    f.declared = declaredTracks(p.data.subarray(0, p.size))
  }
}

/** After a packet was broadcast: FourCC codec ids read from metadata into the publisher become legacy ones. */
export function noteAfterBroadcast(p: AVPacket, publisher: BaseSession): void {
  if (p.codec_type !== TAG_SCRIPT) return
  publisher.videoCodec = legacyId(publisher.videoCodec)
  publisher.audioCodec = legacyId(publisher.audioCodec)
}

/** The one track a stream has, for its startup burst (null: both, or not known yet). */
export function singleTrack(b: BroadcastServer): SingleTrack {
  return only(b, 'audio') ? 'audio' : only(b, 'video') ? 'video' : null
}

/** Frames came, of this track only (and no metadata promises the other). */
function only(b: BroadcastServer, track: keyof Tracks): boolean {
  const f = facts.get(b)
  const other = track === 'audio' ? 'video' : 'audio'
  return f?.frames === true && f[track] && !f[other] && f.declared?.[other] !== true
}

/**
 * The tracks a stream has, as far as this node can tell yet: the
 * metadata's word and what came; null before either.
 */
export function tracksOf(b: BroadcastServer): Tracks | null {
  const f = facts.get(b)
  if (f === undefined) return null
  // what came counts too: metadata may leave out a track the publisher then sends
  const seen = f.frames ? { audio: f.audio, video: f.video } : null
  const declared = f.declared !== null && (f.declared.audio || f.declared.video) ? f.declared : null
  if (declared === null) return seen
  return { audio: declared.audio || seen?.audio === true, video: declared.video || seen?.video === true }
}

function factsOf(b: BroadcastServer): Facts {
  let f = facts.get(b)
  if (f === undefined) {
    f = { audio: false, video: false, frames: false, declared: null }
    facts.set(b, f)
  }
  return f
}

/** `onMetaData`'s tracks: `hasAudio`/`hasVideo` when given, else which codec ids it names. */
export function declaredTracks(body: Buffer): Tracks | null {
  let meta: Record<string, unknown>
  try {
    meta = AMF.decodeAmf0Data(body)
  } catch {
    return null
  }
  const obj = meta.dataObj as Record<string, unknown> | null | undefined
  if (obj === null || typeof obj !== 'object') return null
  const has = (flag: string, codec: string) =>
    typeof obj[flag] === 'boolean' ? (obj[flag] as boolean) : obj[codec] !== undefined && obj[codec] !== null
  return { audio: has('hasAudio', 'audiocodecid'), video: has('hasVideo', 'videocodecid') }
}

function fillVideo(publisher: BaseSession, p: AVPacket): void {
  const codec = legacyId(p.codec_id)
  if (!publisher.videoCodec) publisher.videoCodec = codec
  if (publisher.videoWidth && publisher.videoHeight) return
  const size = pictureSize(codec, p.data.subarray(0, p.size))
  if (size === null) return
  publisher.videoWidth = size.width
  publisher.videoHeight = size.height
}

/** Width and height from the SPS in an AVC or HEVC sequence header tag body; null when not found. */
export function pictureSize(codec: number, body: Buffer): { width: number; height: number } | null {
  try {
    if (codec === VIDEO_CODEC_AVC) return SpsInfo.parseH264Sps(avcSps(body))
    if (codec === VIDEO_CODEC_HEVC) {
      const sps = hevcSps(body)
      return sps === null ? null : SpsInfo.parseH265Sps(sps)
    }
  } catch {
    // a malformed header: no size, nothing else lost
  }
  return null
}

/** The first SPS of an AVCDecoderConfigurationRecord (legacy FLV: 5 bytes of tag header first). */
function avcSps(body: Buffer): Buffer {
  const record = 5
  const length = body.readUInt16BE(record + 6)
  return body.subarray(record + 8, record + 8 + length)
}

/** The SPS (NAL type 33) of an HEVCDecoderConfigurationRecord, legacy (5-byte) or FourCC (5-byte) tag header. */
function hevcSps(body: Buffer): Buffer | null {
  let at = 5 + 22
  const arrays = body[at++] ?? 0
  for (let i = 0; i < arrays; i++) {
    const type = (body[at] ?? 0) & 0x3f
    const count = body.readUInt16BE(at + 1)
    at += 3
    for (let n = 0; n < count; n++) {
      const length = body.readUInt16BE(at)
      if (type === 33) return body.subarray(at + 2, at + 2 + length)
      at += 2 + length
    }
  }
  return null
}

function legacyId(id: number): number {
  return FOURCC_TO_LEGACY[id] ?? id
}
