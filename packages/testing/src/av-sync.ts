import { ffmpegPath } from '@meshcast/node/ffmpeg'
import { ForeignProcess } from './foreign-run.ts'

/**
 * A/V sync measured from the content: a pattern where a white flash and a
 * 1 kHz beep start at the same instant once a second, and an analyser that
 * decodes a stream and reports how far each beep onset is from its flash
 * onset, as a player presents them (by their presentation times).
 */
export interface FlashBeepOptions {
  fps?: number
  size?: string
  /** stop after this many seconds; default: run until stopped */
  seconds?: number
  /** read the sources in real time (`-re`), as a live publisher does; default true */
  live?: boolean
  /** which tracks to send; default both (single-track streams: `audio` or `video`) */
  tracks?: 'both' | 'audio' | 'video'
  /** more output options before the output, e.g. `['-flvflags', 'no_metadata']` */
  outputArgs?: readonly string[]
}

/** How long each flash and each beep lasts (s): 0.1 of every second. */
export const FLASH_SECONDS = 0.1
export const BEEP_HZ = 1000

/** ffmpeg (the project's static build) arguments that write the flash-and-beep pattern as FLV to `output`. */
export function flashBeepArgs(output: string, opts: FlashBeepOptions = {}): string[] {
  const fps = opts.fps ?? 25
  const size = opts.size ?? '320x180'
  const re = opts.live === false ? [] : ['-re']
  const on = `lt(mod(t,1),${FLASH_SECONDS})`
  const video = opts.tracks !== 'audio'
  const audio = opts.tracks !== 'video'
  return [
    ...['-hide_banner', '-nostdin', '-loglevel', 'warning'],
    ...(video
      ? [
          ...re,
          '-f',
          'lavfi',
          '-i',
          `color=c=black:s=${size}:r=${fps},drawbox=color=white:t=fill:enable='${on}'`,
        ]
      : []),
    ...(audio
      ? [...re, '-f', 'lavfi', '-i', `aevalsrc=exprs='if(${on},0.5*sin(2*PI*${BEEP_HZ}*t),0)':s=44100`]
      : []),
    ...(opts.seconds === undefined ? [] : ['-t', String(opts.seconds)]),
    ...(video
      ? ['-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p']
      : []),
    ...(video ? ['-g', String(fps), '-keyint_min', String(fps), '-sc_threshold', '0'] : []),
    ...(audio ? ['-c:a', 'aac', '-b:a', '64k', '-ar', '44100'] : []),
    ...(opts.outputArgs ?? []),
    ...['-y', '-f', 'flv', output],
  ]
}

/** Publishes (or writes) the flash-and-beep pattern with the project's ffmpeg; stop with `stop('SIGTERM')`. */
export function publishFlashBeep(url: string, opts: FlashBeepOptions = {}): ForeignProcess {
  return new ForeignProcess([ffmpegPath(), ...flashBeepArgs(url, opts)])
}

/** One value per video frame or audio slice, at its presentation time (s). */
export interface Sample {
  t: number
  v: number
  /** Date.now() when the analyser reported it */
  at?: number
}

/**
 * The samples at which `samples` rise above `threshold` after having been
 * below it for at least `quiet` seconds (so one flash or beep is one onset).
 * A presentation time that goes back (a timeline restarted) starts afresh.
 */
export function onsetSamples(samples: readonly Sample[], threshold: number, quiet = 0.3): Sample[] {
  const out: Sample[] = []
  let lastHigh = Number.NEGATIVE_INFINITY
  let high = false
  let prev = Number.NEGATIVE_INFINITY
  for (const sample of samples) {
    if (sample.t < prev) lastHigh = Number.NEGATIVE_INFINITY
    prev = sample.t
    if (sample.v > threshold) {
      if (!high && sample.t - lastHigh >= quiet) out.push(sample)
      high = true
      lastHigh = sample.t
    } else {
      high = false
    }
  }
  return out
}

/** The onset times (s) of `samples` (see onsetSamples). */
export function onsets(samples: readonly Sample[], threshold: number, quiet = 0.3): number[] {
  return onsetSamples(samples, threshold, quiet).map((s) => s.t)
}

/** A flash onset, the beep onset nearest to it, and how late the beep is (ms; negative: early). */
export interface OnsetPair {
  flash: number
  beep: number
  offsetMs: number
}

/** Pairs each flash with the nearest beep within `window` seconds (a flash with none stays unpaired). */
export function pairOnsets(flashes: readonly number[], beeps: readonly number[], window = 0.5): OnsetPair[] {
  return pairArrived(
    flashes.map((t) => ({ t, v: 0 })),
    beeps.map((t) => ({ t, v: 0 })),
    window,
  ).map(({ flash, beep, offsetMs }) => ({ flash, beep, offsetMs }))
}

/** Beeps are only paired with flashes that arrived at most this far apart (ms): a restarted timeline repeats its pts. */
const ARRIVAL_WINDOW_MS = 2000

/**
 * Pairs each flash with the nearest beep (by presentation time) within
 * `window` seconds among the beeps that arrived near it: when a timeline
 * restarts, the same presentation times come again, seconds later.
 */
function pairArrived(flashes: readonly Sample[], beeps: readonly Sample[], window = 0.5) {
  const pairs: (OnsetPair & { at: number })[] = []
  for (const flash of flashes) {
    let best: Sample | undefined
    for (const beep of beeps) {
      if (Math.abs((beep.at ?? 0) - (flash.at ?? 0)) > ARRIVAL_WINDOW_MS) continue
      const d = Math.abs(beep.t - flash.t)
      if (d <= window && (best === undefined || d < Math.abs(best.t - flash.t))) best = beep
    }
    if (best !== undefined) {
      pairs.push({
        flash: flash.t,
        beep: best.t,
        offsetMs: Math.round((best.t - flash.t) * 1000),
        at: flash.at ?? 0,
      })
    }
  }
  return pairs
}

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

export interface AvSyncResult {
  /** flash and beep onsets (presentation times, s) */
  flashes: number[]
  beeps: number[]
  /** each flash with its beep, in presentation order, and when the flash frame was decoded (Date.now()) */
  pairs: (OnsetPair & { at: number })[]
  /** median of the pairs' offsets (ms), null without pairs */
  medianMs: number | null
  /** presentation times of every decoded video frame (s), to check the timeline */
  videoPts: number[]
  /** what the analysing ffmpeg printed */
  log: string
}

/** A flash frame is mostly white: mean luma above the middle of black (16) and white (235). */
const FLASH_LUMA = 128
/** A beep slice: RMS above -20 dBFS (the beep is at -9; AAC's pre-echo before an onset stays below). */
const BEEP_DB = -20
/** Audio is analysed in slices of 16 samples at 8 kHz: 2 ms. */
const SLICE_SAMPLES = 16
const SLICE_RATE = 8000

/**
 * Reads ffmpeg's `metadata=print` lines as one filter prints them to the log
 * ("frame:N pts:P pts_time:T", then "key=value"), into samples stamped with
 * when their line arrived.
 */
export class MetadataPrintReader {
  readonly samples: Sample[] = []
  readonly #key: string
  #t: number | null = null

  constructor(key: string) {
    this.#key = key
  }

  push(text: string, at = Date.now()): void {
    const frame = /pts_time:(-?[\d.]+)/.exec(text)
    if (frame !== null) {
      this.#t = Number(frame[1])
      return
    }
    if (this.#t !== null && text.startsWith(`${this.#key}=`)) {
      const v = Number(text.slice(this.#key.length + 1))
      this.samples.push({ t: this.#t, v: Number.isNaN(v) ? Number.NEGATIVE_INFINITY : v, at })
      this.#t = null
    }
  }
}

/** Reads a whole `metadata=print` text (one filter's lines) into samples. */
export function parseMetadataPrint(text: string, key: string): Sample[] {
  const reader = new MetadataPrintReader(key)
  for (const line of text.split('\n')) reader.push(line, 0)
  return reader.samples.map(({ t, v }) => ({ t, v }))
}

/** A running analyser: `stop()` ends it (as a player that leaves) and measures what it decoded. */
export interface AvSyncRun {
  readonly startedAt: number
  /** measures what it decoded so far, and goes on */
  measure(): AvSyncResult
  stop(): Promise<AvSyncResult>
  /** resolves when the analyser exits by itself (the input ended) */
  readonly exited: Promise<unknown>
}

// the metadata filters print to the log, each line prefixed with the filter instance:
// "[Parsed_metadata_4 @ 0x…] frame:3 …" for video, "[Parsed_ametadata_3 @ 0x…] …" for audio
const METADATA_LINE = /^\[Parsed_(a?)metadata_\d+ @ 0x[0-9a-f]+\] (.*)$/

/** Onsets and pairs of what was decoded; each pair stamped with when its flash frame arrived. */
export function measureSamples(luma: readonly Sample[], rms: readonly Sample[], log: string): AvSyncResult {
  const flashes = onsetSamples(luma, FLASH_LUMA)
  const beeps = onsetSamples(rms, BEEP_DB)
  const pairs = pairArrived(flashes, beeps)
  return {
    flashes: flashes.map((f) => f.t),
    beeps: beeps.map((b) => b.t),
    pairs,
    medianMs: median(pairs.map((p) => p.offsetMs)),
    videoPts: luma.map((s) => s.t),
    log,
  }
}

/**
 * Starts decoding `url` (a file, RTMP, HTTP-FLV) with the project's ffmpeg,
 * keeping per video frame its mean luma and per 2 ms audio slice its RMS
 * level, each at its presentation time and with when ffmpeg reported it.
 * The values come through ffmpeg's log as they are decoded (a file written
 * by the filters would only be flushed at a clean exit, which a player
 * stuck on a stalled stream never makes).
 */
export function startAvSync(url: string): AvSyncRun {
  const video = new MetadataPrintReader('lavfi.signalstats.YAVG')
  const audio = new MetadataPrintReader('lavfi.astats.Overall.RMS_level')
  const proc = new ForeignProcess(
    [
      ffmpegPath(),
      ...['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'info', '-i', url],
      ...[
        '-map',
        '0:v:0',
        '-vf',
        'scale=16:16,format=gray,signalstats,metadata=mode=print:key=lavfi.signalstats.YAVG',
      ],
      ...[
        '-map',
        '0:a:0',
        '-af',
        `aresample=${SLICE_RATE},asetnsamples=n=${SLICE_SAMPLES}:p=0,astats=metadata=1:reset=1,ametadata=mode=print:key=lavfi.astats.Overall.RMS_level`,
      ],
      ...['-f', 'null', '-'],
    ],
    {
      onLine: (line) => {
        const m = METADATA_LINE.exec(line.text)
        if (m !== null) (m[1] === 'a' ? audio : video).push(m[2] as string, line.at)
      },
      keep: (line) => !METADATA_LINE.test(line.text),
    },
  )
  const measure = () => measureSamples(video.samples, audio.samples, proc.tail())
  return {
    startedAt: proc.startedAt,
    exited: proc.exited,
    measure,
    async stop() {
      await proc.stop()
      return measure()
    },
  }
}

/** Decodes `url` until it ends or `seconds` passed, and measures A/V sync. */
export async function measureAvSync(url: string, seconds = 10): Promise<AvSyncResult> {
  const run = startAvSync(url)
  let timer: NodeJS.Timeout | undefined
  await Promise.race([run.exited, new Promise((resolve) => (timer = setTimeout(resolve, seconds * 1000)))])
  clearTimeout(timer)
  return await run.stop()
}
