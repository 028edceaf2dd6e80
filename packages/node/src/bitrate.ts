/** The span a stream's bitrate is averaged over. */
export const BITRATE_WINDOW_MS = 5000
/** Shortest span a rate is computed from: fewer bytes than that say little. */
const MIN_SPAN_MS = 1000

/** `x` rounded to 2 significant digits (1234 → 1200, 0.456 → 0.46). */
export function twoSignificant(x: number): number {
  return x === 0 || !Number.isFinite(x) ? 0 : Number(x.toPrecision(2))
}

/**
 * Each stream's incoming bitrate from its cumulative byte count, sampled
 * whenever the caller looks (the media plane's advert refresh): kbit/s over
 * the last `BITRATE_WINDOW_MS`, 0 until a second of samples exists.
 */
export class BitrateMeter {
  readonly #windowMs: number
  /** path → samples, oldest first; the first may be older than the window (the base) */
  readonly #samples = new Map<string, { at: number; bytes: number }[]>()

  constructor(windowMs = BITRATE_WINDOW_MS) {
    this.#windowMs = windowMs
  }

  /** Records each stream's bytes in at `now`; streams not given are forgotten. */
  sample(streams: readonly { path: string; inBytes: number }[], now = Date.now()): void {
    const seen = new Set<string>()
    for (const { path, inBytes } of streams) {
      seen.add(path)
      let list = this.#samples.get(path)
      const last = list?.at(-1)
      // fewer bytes than before: the stream ended and began again
      if (list === undefined || (last !== undefined && inBytes < last.bytes)) {
        list = []
        this.#samples.set(path, list)
      }
      list.push({ at: now, bytes: inBytes })
      while (list.length > 2 && (list[1] as { at: number }).at <= now - this.#windowMs) list.shift()
    }
    for (const path of [...this.#samples.keys()]) if (!seen.has(path)) this.#samples.delete(path)
  }

  /** kbit/s into `path` over the window, to 2 significant digits. */
  kbps(path: string): number {
    const list = this.#samples.get(path)
    const first = list?.[0]
    const last = list?.at(-1)
    if (first === undefined || last === undefined || last.at - first.at < MIN_SPAN_MS) return 0
    // bytes × 8 / ms = kbit/s
    return twoSignificant(((last.bytes - first.bytes) * 8) / (last.at - first.at))
  }
}
