// A player kept on an edge across an origin's loss (failover, resume): what
// it saw around the event, and a summary over runs.
import { max, median, nums, round } from '../../lib.ts'
import type { DecoderReport } from '../decoder.ts'
import type { Backwards, RtmpProbe, VideoFrame } from '../probe.ts'

export interface KeptPlayer {
  /** the socket stayed open */
  connected: boolean
  /** what would have made ffmpeg stop playing */
  endSignals: string[]
  videoFrames: number
  /** frames that arrived after the event */
  framesAfter: number
  /** the longest pause between video frames from the last one before the event to the end; null: none resumed (the watch ended in a pause of over 1 s) */
  gapMs: number | null
  /** the longest pause in the steady play before the event (jitter) */
  steadyMaxGapMs: number | null
  /** dts step across that pause (the player's timeline; 40 = one frame at 25 fps) */
  dtsStepMs: number | null
  /** timestamps that went back (video: or repeated), with where */
  backwards: number
  backwardsSample: Backwards[]
  error: string | null
}

export function keptPlayer(
  probe: RtmpProbe,
  eventAt: number,
  steadyFrom: number,
  watchEnd: number,
): KeptPlayer {
  const frames = probe.frames
  let last = -1
  for (let i = 0; i < frames.length; i++) if ((frames[i] as VideoFrame).at <= eventAt) last = i
  const steady = frames.filter((f) => f.at >= steadyFrom && f.at <= eventAt)
  let steadyMax = 0
  for (let i = 1; i < steady.length; i++)
    steadyMax = Math.max(steadyMax, (steady[i] as VideoFrame).at - (steady[i - 1] as VideoFrame).at)
  let gap: number | null = null
  let resumeIndex = -1
  for (let i = Math.max(1, last + 1); i < frames.length; i++) {
    const pause = (frames[i] as VideoFrame).at - (frames[i - 1] as VideoFrame).at
    if (gap === null || pause > gap) {
      gap = pause
      resumeIndex = i
    }
  }
  // still waiting at the end of the watch: that pause is open, nothing resumed
  const lastFrame = frames[frames.length - 1]
  const trailing = lastFrame === undefined ? Number.POSITIVE_INFINITY : watchEnd - lastFrame.at
  if (trailing > Math.max(gap ?? 0, 1000)) {
    gap = null
    resumeIndex = -1
  }
  const resumed = frames[resumeIndex]
  const before = frames[resumeIndex - 1]
  return {
    connected: probe.closedAt === null,
    endSignals: probe.endSignals(eventAt - 50),
    videoFrames: frames.length,
    framesAfter: frames.filter((f) => f.at > eventAt).length,
    gapMs: round(gap, 0),
    steadyMaxGapMs: round(steady.length > 1 ? steadyMax : null, 0),
    dtsStepMs: resumed === undefined || before === undefined ? null : resumed.dts - before.dts,
    backwards: probe.backwards.length,
    backwardsSample: probe.backwards.slice(0, 5),
    error: probe.error,
  }
}

/** Counts over runs of a kept player (and the ffmpeg decoding beside it); the runs go beside them. */
export interface KeptSummary {
  errors: number
  gapMedianMs: number | null
  gapMaxMs: number | null
  /** runs where no frame came after the event */
  noFrameAfter: number
  disconnected: number
  withEndSignals: number
  nonMonotonic: number
  steadyMaxGapMs: number | null
  /** the decoding ffmpeg: runs where it ended by itself, runs where it complained after the event */
  decoderExited: number
  decoderTrouble: number
  decoderNonMonotonic: number
}

export function keptSummary(
  runs: readonly { kept: KeptPlayer | null; decoder: DecoderReport | null; error?: string }[],
): KeptSummary {
  const kept = runs.flatMap((r) => (r.kept === null ? [] : [r.kept]))
  const decoders = runs.flatMap((r) => (r.decoder === null ? [] : [r.decoder]))
  const gaps = nums(kept.map((k) => k.gapMs))
  return {
    errors: runs.filter((r) => r.error !== undefined).length,
    gapMedianMs: round(median(gaps), 0),
    gapMaxMs: round(max(gaps), 0),
    noFrameAfter: kept.filter((k) => k.gapMs === null || k.framesAfter === 0).length,
    disconnected: kept.filter((k) => !k.connected).length,
    withEndSignals: kept.filter((k) => k.endSignals.length > 0).length,
    nonMonotonic: kept.filter((k) => k.backwards > 0).length,
    steadyMaxGapMs: round(max(nums(kept.map((k) => k.steadyMaxGapMs))), 0),
    decoderExited: decoders.filter((d) => d.exited).length,
    decoderTrouble: decoders.filter((d) => d.troubleAfter > 0).length,
    decoderNonMonotonic: decoders.filter((d) => d.nonMonotonicPts > 0).length,
  }
}

/** A system or a part of a phase that did not run here, and why. */
export interface Skipped {
  skipped: string
}
