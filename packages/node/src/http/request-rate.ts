import { remoteHost } from '@meshcast/interface'

/** How long an address's requests may queue for their turn before one is refused (429). */
export const MAX_WAIT_MS = 5000
/** ms after which addresses whose turn has come are forgotten. */
const SWEEP_MS = 10_000

/**
 * Requests per second one remote address may make, as a generic cell rate
 * algorithm: each address keeps one time, when its next request is due. A
 * request within the burst goes at once; one past it waits its turn; one
 * whose turn is over `maxWaitMs` away is refused (and takes no turn). Pure:
 * the clock is passed in. One number per address, not a list of timestamps,
 * and queueing rather than only refusing: the HTTP gate holds a request and
 * stops reading its socket, which an off-the-shelf limiter cannot do.
 */
export class RequestRate {
  readonly perSecond: number
  readonly #interval: number
  readonly #tolerance: number
  readonly maxWaitMs: number
  readonly #due = new Map<string, number>()
  #swept = 0

  /** `burst`: requests an idle address may make at once (default: one second's worth). */
  constructor(perSecond: number, opts: { burst?: number; maxWaitMs?: number } = {}) {
    this.perSecond = perSecond
    this.#interval = 1000 / perSecond
    this.#tolerance = (Math.max(1, opts.burst ?? perSecond) - 1) * this.#interval
    this.maxWaitMs = opts.maxWaitMs ?? MAX_WAIT_MS
  }

  /** ms the request must wait for its turn (0: go now), or -1: refuse it. */
  admit(address: string | undefined, now: number): number {
    if (now - this.#swept >= SWEEP_MS) this.#sweep(now)
    const key = remoteHost(address)
    const due = Math.max(this.#due.get(key) ?? now, now)
    const wait = due - now - this.#tolerance
    if (wait > this.maxWaitMs) return -1
    this.#due.set(key, due + this.#interval)
    return Math.max(0, wait)
  }

  /** Addresses remembered now (their turn still ahead). */
  get size(): number {
    return this.#due.size
  }

  #sweep(now: number): void {
    this.#swept = now
    for (const [key, due] of this.#due) if (due <= now) this.#due.delete(key)
  }
}
