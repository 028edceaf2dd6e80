import type { Logger } from './logger.ts'

/** ms during which further events of one kind are counted, not logged. */
const QUIET_MS = 10_000

/** The two lines a BurstLog writes: one event, and a burst's sum. */
export interface BurstLines {
  /** for the first event of a kind: logged with `{kind, detail, remote}` */
  one: string
  /** for the rest of a burst: logged with `{kind, connections}` */
  many: string
}

/**
 * Counts refused or closed connections by kind and logs them: the first of
 * a kind at once, the rest of a burst as one line with their number when the
 * kind's quiet time ends (a flood of 1,000 connections is a few lines, not 1,000).
 */
export class BurstLog<K extends string> {
  readonly counts: Record<K, number>
  readonly #log: Logger
  readonly #lines: BurstLines
  readonly #quietUntil = new Map<K, number>()
  readonly #held = new Map<K, { count: number; timer: ReturnType<typeof setTimeout> }>()

  constructor(log: Logger, kinds: readonly K[], lines: BurstLines) {
    this.#log = log
    this.#lines = lines
    this.counts = Object.fromEntries(kinds.map((k) => [k, 0])) as Record<K, number>
  }

  event(kind: K, detail: string, remote: string | undefined, now = Date.now()): void {
    this.counts[kind] = (this.counts[kind] ?? 0) + 1
    if (now >= (this.#quietUntil.get(kind) ?? 0)) {
      this.#quietUntil.set(kind, now + QUIET_MS)
      this.#log.warn(this.#lines.one, { kind, detail, remote })
      return
    }
    const held = this.#held.get(kind)
    if (held !== undefined) {
      held.count++
      return
    }
    const timer = setTimeout(() => this.#flush(kind), (this.#quietUntil.get(kind) ?? now) - now)
    timer.unref()
    this.#held.set(kind, { count: 1, timer })
  }

  #flush(kind: K): void {
    const held = this.#held.get(kind)
    this.#held.delete(kind)
    if (held === undefined) return
    this.#quietUntil.set(kind, Date.now() + QUIET_MS)
    this.#log.warn(this.#lines.many, { kind, connections: held.count })
  }

  /** Writes what is held back now. */
  stop(): void {
    for (const [kind, held] of [...this.#held]) {
      clearTimeout(held.timer)
      this.#flush(kind)
    }
  }
}
