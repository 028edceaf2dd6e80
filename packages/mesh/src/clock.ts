/** A timer a Clock handed out: only that clock can clear it. */
export type TimerHandle = unknown

/**
 * Time as the mesh sees it: the system's in production, a virtual one in the
 * simulator (src/sim), where seconds of protocol run in microseconds and a
 * schedule of faults replays exactly. Everything in the mesh's core that
 * reads the time or waits goes through one.
 */
export interface Clock {
  /** ms since the epoch */
  now(): number
  setTimeout(fn: () => void, ms: number): TimerHandle
  clearTimeout(timer: TimerHandle): void
  setInterval(fn: () => void, ms: number): TimerHandle
  clearInterval(timer: TimerHandle): void
  /** runs `fn` once the work under way (and its promise callbacks) is done: setImmediate */
  soon(fn: () => void): void
  /** a signal that aborts with a TimeoutError after `ms` */
  timeout(ms: number): AbortSignal
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (timer) => clearTimeout(timer as ReturnType<typeof setTimeout>),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (timer) => clearInterval(timer as ReturnType<typeof setInterval>),
  soon: (fn) => void setImmediate(fn),
  timeout: (ms) => AbortSignal.timeout(ms),
}

/** A signal that aborts after `ms` on `clock`, as AbortSignal.timeout does on the system's. */
export function clockTimeout(clock: Pick<Clock, 'setTimeout'>, ms: number): AbortSignal {
  const controller = new AbortController()
  clock.setTimeout(() => controller.abort(new DOMException(`timed out after ${ms} ms`, 'TimeoutError')), ms)
  return controller.signal
}
