/**
 * Tells a silent upstream from a jittery one, from the arrival times of its
 * media packets alone (no timer of its own: the caller asks `check(now)`).
 * A frozen process (SIGSTOP) keeps its TCP connection open and sends
 * nothing, so only the silence shows it; waiting `stallMs` for that costs
 * every player that long. "Quiet" comes after a few of the stream's own
 * frame intervals instead, but never sooner than twice the longest gap the
 * upstream has recently shown: a jittery upstream raises its own bar.
 */
export interface SilenceOptions {
  /** ms without media that is a stall whatever the stream (edge.stall) */
  stallMs: number
  /** frame intervals without media that make an upstream quiet; default QUIET_FRAMES */
  quietFrames?: number
  /** ms: quiet never comes sooner; default QUIET_MIN_MS */
  quietMinMs?: number
  /**
   * the longest recent gap learnt from the upstream this one replaces: the
   * link to the edge is the same, and so is most of its jitter
   */
  peakMs?: number
}

/** What the silence amounts to now. */
export type Silence = 'playing' | 'quiet' | 'stalled'

/** A few frame intervals: ~270 ms at 30 fps. */
export const QUIET_FRAMES = 8
/** Below this a gap is network and scheduling noise (and TCP's delayed ACKs), not silence. */
export const QUIET_MIN_MS = 250
/** Recent gaps count this many times over: quiet needs a gap twice the longest recent one. */
const JITTER_FACTOR = 2
/** The longest recent gap decays by this per packet (~halves over 70 packets): old jitter fades. */
const PEAK_DECAY = 0.99
/** Media packets (~1 s of a stream) before quiet can be told: the gaps are not known before. */
export const LEARN_PACKETS = 30
/** Weight of a new gap in the mean frame interval. */
const MEAN_WEIGHT = 0.1

export class SilenceWatch {
  readonly #stallMs: number
  readonly #frames: number
  readonly #minMs: number
  #last = -1
  /** mean ms between media packets (audio and video together); 0 until two packets */
  #mean = 0
  /** the longest recent gap between media packets, decaying */
  #peak = 0
  #quiet = false
  #packets = 0

  constructor(o: SilenceOptions) {
    this.#stallMs = o.stallMs
    this.#frames = o.quietFrames ?? QUIET_FRAMES
    this.#minMs = o.quietMinMs ?? QUIET_MIN_MS
    this.#peak = o.peakMs ?? 0
  }

  /** The longest recent gap between media packets (decaying), in ms. */
  get peakMs(): number {
    return this.#peak
  }

  /** A media packet arrived at `now`; true when it ends a quiet spell (the upstream resumed). */
  media(now: number): boolean {
    if (this.#last >= 0) {
      const gap = now - this.#last
      this.#mean = this.#mean === 0 ? gap : this.#mean + MEAN_WEIGHT * (gap - this.#mean)
      this.#peak = Math.max(gap, this.#peak * PEAK_DECAY)
    }
    this.#last = now
    this.#packets++
    const resumed = this.#quiet
    this.#quiet = false
    return resumed
  }

  /** ms of silence that make the upstream quiet, as learnt so far (at most stallMs). */
  get quietMs(): number {
    const learnt = Math.max(this.#minMs, this.#frames * this.#mean, JITTER_FACTOR * this.#peak)
    return Math.min(this.#stallMs, learnt)
  }

  /**
   * The state at `now`. 'quiet' is told once per silent spell (then
   * 'playing' again until it resumes or stalls), 'stalled' every time.
   */
  check(now: number): Silence {
    if (this.#last < 0) return 'playing'
    const silent = now - this.#last
    if (silent > this.#stallMs) return 'stalled'
    if (this.#quiet || this.#packets < LEARN_PACKETS || silent <= this.quietMs) return 'playing'
    this.#quiet = true
    return 'quiet'
  }

  /** Whether a quiet spell is under way (told and not yet ended by media). */
  get quiet(): boolean {
    return this.#quiet
  }
}
