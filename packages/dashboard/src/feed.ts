import type { Logger } from '@meshcast/interface'
import { busRates, diffSnapshots, type EndedPulls, forgetEnded } from './diff.ts'
import type { BusRates, DashboardEvent, DashboardSnapshot, DashboardSource } from './types.ts'

/** ms between pictures sent to open pages (bitrates and bus rates move even when nothing else does). */
export const DEFAULT_TICK_MS = 1000
/** ms a burst of changes is gathered before the pages hear of it. */
export const CHANGE_DEBOUNCE_MS = 100
/** Event-log lines kept for pages that open later. */
export const DEFAULT_EVENT_LOG = 200

export interface FeedInit {
  tickMs?: number
  eventLog?: number
}

/** What a page receives on every update. */
export interface FeedUpdate {
  snapshot: DashboardSnapshot
  rates: BusRates
  /** events since the previous update; with `full`, the whole kept log */
  events: DashboardEvent[]
  /** true when `events` is the whole log (a page's first update) */
  full?: boolean
}

type Listener = (update: FeedUpdate) => void

/**
 * Watches the cluster for the dashboard: takes a snapshot every tick (and
 * soon after the daemon reports a change), turns the differences into
 * event-log lines, and hands each update to the open pages. It keeps the
 * last events, so a page opened later sees what just happened.
 */
export class DashboardFeed {
  readonly #source: DashboardSource
  readonly #log: Logger
  readonly #tickMs: number
  readonly #max: number
  readonly #listeners = new Set<Listener>()
  readonly #events: DashboardEvent[] = []
  readonly #ended: EndedPulls = new Map()
  #last: DashboardSnapshot | null = null
  #rates: BusRates = { sent: 0, delivered: 0, retransmitted: 0, dropped: 0 }
  #timer: ReturnType<typeof setInterval> | null = null
  #soon: ReturnType<typeof setTimeout> | null = null
  #unhook: (() => void) | null = null

  constructor(source: DashboardSource, logger: Logger, init: FeedInit = {}) {
    this.#source = source
    this.#log = logger
    this.#tickMs = init.tickMs ?? DEFAULT_TICK_MS
    this.#max = init.eventLog ?? DEFAULT_EVENT_LOG
  }

  start(): void {
    if (this.#timer !== null) return
    this.#last = this.#take()
    this.#timer = setInterval(() => this.#tick(), this.#tickMs)
    this.#unhook = this.#source.onChange?.(() => this.#tickSoon()) ?? null
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer)
    this.#timer = null
    if (this.#soon !== null) clearTimeout(this.#soon)
    this.#soon = null
    this.#unhook?.()
    this.#unhook = null
    this.#listeners.clear()
  }

  /** The latest picture and the event log (newest last), for a page that just opened. */
  current(): FeedUpdate {
    const snapshot = this.#last ?? this.#take()
    return { snapshot, rates: this.#rates, events: [...this.#events], full: true }
  }

  /** Calls `listener` with every update; returns the unsubscribe. */
  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  get listeners(): number {
    return this.#listeners.size
  }

  #take(): DashboardSnapshot {
    return this.#source.snapshot()
  }

  #tickSoon(): void {
    if (this.#soon !== null || this.#timer === null) return
    this.#soon = setTimeout(() => {
      this.#soon = null
      this.#tick()
    }, CHANGE_DEBOUNCE_MS)
  }

  #tick(): void {
    let next: DashboardSnapshot
    try {
      next = this.#take()
    } catch (err) {
      this.#log.warn('dashboard snapshot failed', { error: (err as Error).message })
      return
    }
    const prev = this.#last ?? next
    forgetEnded(this.#ended, next.at)
    const events = diffSnapshots(prev, next, this.#ended)
    // a tick hurried by a change is too short a span for a steady rate
    if (next.at - prev.at >= this.#tickMs / 2) this.#rates = busRates(prev, next)
    this.#last = next
    this.#events.push(...events)
    if (this.#events.length > this.#max) this.#events.splice(0, this.#events.length - this.#max)
    const update = { snapshot: next, rates: this.#rates, events }
    for (const listener of this.#listeners) {
      try {
        listener(update)
      } catch (err) {
        this.#log.warn('dashboard listener failed', { error: (err as Error).message })
      }
    }
  }
}
