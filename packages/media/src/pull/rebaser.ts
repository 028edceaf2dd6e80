import { createHash } from 'node:crypto'
import { TAG_AUDIO, TAG_VIDEO } from '@meshcast/interface'
import { isMediaFrame, KEYFRAME } from '../flv/flv-kinds.ts'

/** What the rebaser reads of a packet (node-media-server's AVPacket has these fields). */
export interface RebaserPacket {
  /** 8 audio, 9 video, 18 data */
  codec_type: number
  /** 0 audio header, 1 audio frame, 2 video header, 3 keyframe, 4 inter frame, 5 data, 6 video metadata */
  flags: number
  dts: number
  pts: number
  data: Buffer
  size: number
}

export type AnchorKind = 'first' | 'continue' | 'splice' | 'new-timeline'

/** Where the output timeline picked up an upstream's packets. */
export interface Anchor {
  kind: AnchorKind
  /** the anchoring packet's input and output dts */
  inDts: number
  outDts: number
  offset: number
  /** the newest output dts and pts before it */
  lastDts: number
  lastPts: number
}

export interface RebaserOptions {
  /** a new upstream whose first keyframe is this close to where the last one stopped shares its timeline */
  sameTimelineMs?: number
  /** splice into a same-timeline upstream that is at most this far behind what was sent */
  maxCatchUpMs?: number
  /** a track's dts going back more than this inside one upstream is a new timeline */
  jumpBackMs?: number
  /** the stream's dts going forward more than this inside one upstream is a new timeline */
  jumpForwardMs?: number
  /** with video expected, anchor on audio anyway after this much audio came and no video at all */
  audioOnlyAfterMs?: number
  onAnchor?: (anchor: Anchor) => void
}

export const DEFAULT_SAME_TIMELINE_MS = 5000
export const DEFAULT_MAX_CATCH_UP_MS = 2000
export const DEFAULT_JUMP_BACK_MS = 1000
export const DEFAULT_JUMP_FORWARD_MS = 10_000
export const DEFAULT_AUDIO_ONLY_AFTER_MS = 2000

type Track = typeof TAG_AUDIO | typeof TAG_VIDEO
/** keyframes remembered (output dts → hash) to recognise an identical upstream */
const KEYFRAMES_KEPT = 8

interface PerTrack {
  audio: number
  video: number
}

/**
 * Maps the timestamps of a succession of upstreams onto one output timeline
 * whose dts only increase, so players kept across an upstream switch decode
 * on. Pure: no I/O, no clock.
 *
 * One offset serves both tracks (A/V sync). It is fixed at an anchor: the
 * first video keyframe after a switch or a jump (the first audio frame when
 * the stream has no video). The rules, measured when the rebaser was written:
 * - the first upstream keeps its timestamps;
 * - an upstream whose keyframe lies within `sameTimelineMs` of where the
 *   last one stopped is the same source: keep the mapping and continue, or,
 *   when that keyframe is byte-identical to one already sent and at most
 *   `maxCatchUpMs` behind, splice mid-GOP (what players have is dropped);
 * - any other is a new timeline appended right after what was sent:
 *   `offset = max(lastDts + step - kf.dts, maxPts + step - kf.pts)`, pts
 *   included so a B-frame stream's keyframe cannot present before a frame
 *   already shown.
 * Packets that would not move their track's dts forward are dropped
 * (right after an anchor, equal dts too: they are what players already have).
 */
export class Rebaser {
  readonly #o: Required<Omit<RebaserOptions, 'onAnchor'>>
  readonly #onAnchor: ((anchor: Anchor) => void) | undefined
  /** the current upstream's mapping; null until it anchors */
  #offset: number | null = null
  #lastIn: PerTrack = { audio: -1, video: -1 }
  /** the previous upstream's mapping and where it stopped */
  #prev: { offset: number; lastIn: PerTrack } | null = null
  #lastOut: PerTrack = { audio: -1, video: -1 }
  #maxPtsOut = -1
  /** typical frame durations, the gap left at a new-timeline anchor */
  #step: PerTrack = { audio: 23, video: 40 }
  #anchoredOnce = false
  /** video seen from the current upstream / from the one before */
  #videoSeen = false
  #expectVideo = false
  /** dts of the first audio dropped while waiting for a keyframe */
  #waitingSince: number | null = null
  /** after an audio anchor: video waits for its keyframe */
  #videoWaitsKey = false
  /** after an anchor, until the track forwards a packet: equal dts is a duplicate */
  #catchingUp = { audio: false, video: false }
  readonly #keyframes = new Map<number, string>()
  readonly stats = { anchors: 0, droppedWaitingKey: 0, droppedBackwards: 0 }

  constructor(options: RebaserOptions = {}) {
    this.#o = {
      sameTimelineMs: options.sameTimelineMs ?? DEFAULT_SAME_TIMELINE_MS,
      maxCatchUpMs: options.maxCatchUpMs ?? DEFAULT_MAX_CATCH_UP_MS,
      jumpBackMs: options.jumpBackMs ?? DEFAULT_JUMP_BACK_MS,
      jumpForwardMs: options.jumpForwardMs ?? DEFAULT_JUMP_FORWARD_MS,
      audioOnlyAfterMs: options.audioOnlyAfterMs ?? DEFAULT_AUDIO_ONLY_AFTER_MS,
    }
    this.#onAnchor = options.onAnchor
  }

  /** The newest output dts (-1 before any). */
  get lastDts(): number {
    return Math.max(this.#lastOut.audio, this.#lastOut.video)
  }

  /** The packets that follow come from another upstream. */
  switchUpstream(): void {
    this.#expectVideo = this.#videoSeen || this.#expectVideo
    this.#videoSeen = false
    this.#reanchor(true)
  }

  /**
   * The output dts for `p`, or null to drop it. Headers and data are stamped
   * with the newest output dts of their track (of the stream, for data).
   */
  map(p: RebaserPacket): number | null {
    const track = trackOf(p.codec_type)
    if (track === null) return Math.max(this.lastDts, 0)
    const key = keyOf(track)
    if (track === TAG_VIDEO) this.#videoSeen = true
    if (!isMediaFrame(p)) return Math.max(this.#lastOut[key], 0)
    if (this.#offset !== null && this.#jumped(p, key)) this.#reanchor(false)
    if (this.#offset === null && !this.#anchor(p, track)) {
      this.stats.droppedWaitingKey++
      return null
    }
    const offset = this.#offset ?? 0
    this.#lastIn[key] = p.dts
    if (track === TAG_VIDEO && this.#videoWaitsKey) {
      if (p.flags !== KEYFRAME) {
        this.stats.droppedWaitingKey++
        return null
      }
      this.#videoWaitsKey = false
    }
    const out = p.dts + offset
    const last = this.#lastOut[key]
    if (out < last || (out === last && this.#catchingUp[key])) {
      this.stats.droppedBackwards++
      return null
    }
    this.#forwarded(p, track, out, offset)
    return out
  }

  #jumped(p: RebaserPacket, key: keyof PerTrack): boolean {
    const own = this.#lastIn[key]
    const newest = Math.max(this.#lastIn.audio, this.#lastIn.video)
    if (own >= 0 && p.dts < own - this.#o.jumpBackMs) return true
    return newest >= 0 && p.dts > newest + this.#o.jumpForwardMs
  }

  /** Forget the mapping; a switch remembers it (the next upstream may share the timeline), a jump does not. */
  #reanchor(switching: boolean): void {
    if (switching && this.#offset !== null) this.#prev = { offset: this.#offset, lastIn: { ...this.#lastIn } }
    if (!switching) this.#prev = null
    this.#offset = null
    this.#lastIn = { audio: -1, video: -1 }
    this.#waitingSince = null
  }

  /** Anchors on `p` if it can start the stream; false to drop it and wait. */
  #anchor(p: RebaserPacket, track: Track): boolean {
    const videoKey = track === TAG_VIDEO && p.flags === KEYFRAME
    if (!videoKey && !this.#mayAnchorOnAudio(p, track)) return false
    const kind = this.#chooseOffset(p, track, videoKey)
    this.#videoWaitsKey = !videoKey
    this.#catchingUp = { audio: true, video: true }
    this.#waitingSince = null
    this.#anchoredOnce = true
    this.stats.anchors++
    const offset = this.#offset ?? 0
    this.#onAnchor?.({
      kind,
      inDts: p.dts,
      outDts: p.dts + offset,
      offset,
      lastDts: this.lastDts,
      lastPts: this.#maxPtsOut,
    })
    return true
  }

  /** Audio anchors when no video is expected, or when plenty of audio came and no video at all. */
  #mayAnchorOnAudio(p: RebaserPacket, track: Track): boolean {
    if (track !== TAG_AUDIO || this.#videoSeen) return false
    if (!this.#expectVideo) return true
    this.#waitingSince ??= p.dts
    return p.dts - this.#waitingSince >= this.#o.audioOnlyAfterMs
  }

  #chooseOffset(p: RebaserPacket, track: Track, videoKey: boolean): AnchorKind {
    if (!this.#anchoredOnce) {
      this.#offset = 0
      return 'first'
    }
    const prev = this.#prev
    const key = keyOf(track)
    const stoppedAt =
      prev === null
        ? -1
        : prev.lastIn[key] >= 0
          ? prev.lastIn[key]
          : Math.max(prev.lastIn.audio, prev.lastIn.video)
    if (prev !== null && stoppedAt >= 0 && Math.abs(p.dts - stoppedAt) < this.#o.sameTimelineMs) {
      const out = p.dts + prev.offset
      const ahead = out > this.#lastOut[key] && (track !== TAG_VIDEO || p.pts + prev.offset > this.#maxPtsOut)
      if (ahead) {
        this.#offset = prev.offset
        return 'continue'
      }
      const sent = videoKey ? this.#keyframes.get(out) : undefined
      if (sent !== undefined && sent === hashOf(p) && this.#lastOut[key] - out <= this.#o.maxCatchUpMs) {
        this.#offset = prev.offset
        return 'splice'
      }
    }
    const step = this.#step[key]
    this.#offset = Math.max(this.lastDts + step - p.dts, this.#maxPtsOut + step - p.pts)
    return 'new-timeline'
  }

  #forwarded(p: RebaserPacket, track: Track, out: number, offset: number): void {
    const key = keyOf(track)
    const last = this.#lastOut[key]
    if (last >= 0 && out - last > 0 && out - last < 1000) this.#step[key] = out - last
    this.#lastOut[key] = out
    this.#catchingUp[key] = false
    if (track !== TAG_VIDEO) return
    this.#maxPtsOut = Math.max(this.#maxPtsOut, p.pts + offset)
    if (p.flags === KEYFRAME) {
      this.#keyframes.set(out, hashOf(p))
      if (this.#keyframes.size > KEYFRAMES_KEPT)
        this.#keyframes.delete(this.#keyframes.keys().next().value as number)
    }
  }
}

function trackOf(codecType: number): Track | null {
  return codecType === TAG_AUDIO || codecType === TAG_VIDEO ? codecType : null
}

function keyOf(track: Track): keyof PerTrack {
  return track === TAG_AUDIO ? 'audio' : 'video'
}

function hashOf(p: RebaserPacket): string {
  return createHash('sha1').update(p.data.subarray(0, p.size)).digest('hex')
}
