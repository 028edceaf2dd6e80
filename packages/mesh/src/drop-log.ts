import type { Logger } from '@meshcast/interface'
import { type Clock, systemClock } from './clock.ts'

/** Log lines per reason per window; the rest are counted and summed up in the next line. */
const LINES_PER_WINDOW = 5
const WINDOW_MS = 10_000

/**
 * Counts dropped inbound messages by reason and logs them without letting
 * a flood of garbage flood the log too.
 */
export class DropLog {
  readonly counts: Record<string, number> = {}
  readonly #log: Logger
  readonly #windows = new Map<string, { start: number; lines: number; silenced: number }>()
  readonly #clock: Pick<Clock, 'now'>

  constructor(logger: Logger, clock: Pick<Clock, 'now'> = systemClock) {
    this.#log = logger
    this.#clock = clock
  }

  /** Counts without a log line: for what gossip does by design, such as an old heartbeat arriving late. */
  count(reason: string, n = 1): void {
    this.counts[reason] = (this.counts[reason] ?? 0) + n
  }

  drop(reason: string, detail: string, fields: Record<string, unknown> = {}, count = 1): void {
    this.counts[reason] = (this.counts[reason] ?? 0) + count
    const now = this.#clock.now()
    let w = this.#windows.get(reason)
    if (w === undefined || now - w.start > WINDOW_MS) {
      const silenced = w?.silenced ?? 0
      w = { start: now, lines: 0, silenced: 0 }
      this.#windows.set(reason, w)
      if (silenced > 0) fields = { ...fields, notLogged: silenced }
    }
    if (w.lines >= LINES_PER_WINDOW) {
      w.silenced += count
      return
    }
    w.lines++
    this.#log.warn('dropped inbound mesh message', { reason, detail, count, ...fields })
  }
}
