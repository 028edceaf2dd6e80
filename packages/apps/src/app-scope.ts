import { AsyncLocalStorage } from 'node:async_hooks'
import { AppNotRunningError } from './errors.ts'

/**
 * The application whose code runs now. It follows the timers, promises and
 * sockets that code starts, so an error thrown far from any callback the
 * host handed out can still be pinned on its application.
 */
const current = new AsyncLocalStorage<AppScope>()

/** The scope of the application whose code is running, if any. */
export function currentScope(): AppScope | undefined {
  return current.getStore()
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function'
}

/**
 * One application's guard: runs its code in its async context, turns every
 * throw or rejection into one report, and keeps what it registered so all
 * of it can be released at once.
 */
export class AppScope {
  readonly name: string
  readonly #report: (err: unknown, during: string) => void
  readonly #disposers = new Set<() => void>()
  /** callbacks (messages, requests, timers) reach the app */
  #live = false
  /** the app may use its context (send, register…) */
  #open = true

  constructor(name: string, report: (err: unknown, during: string) => void) {
    this.name = name
    this.#report = report
  }

  get live(): boolean {
    return this.#live
  }

  set live(value: boolean) {
    this.#live = value
  }

  /** Throws AppNotRunningError once the app has stopped. */
  assertOpen(): void {
    if (!this.#open) throw new AppNotRunningError(this.name)
  }

  /** Reports an error of the app's code that reached the host some other way. */
  report(err: unknown, during: string): void {
    this.#report(err, during)
  }

  /** Runs `fn` in the app's async context and returns what it returns; errors are the caller's. */
  enter<T>(fn: () => T): T {
    return current.run(this, fn)
  }

  /**
   * Runs `fn` outside any app's context: what the cluster starts for a send
   * (streams, timers) is the node's, and must not be pinned on this app.
   */
  outside<T>(fn: () => T): T {
    return current.exit(fn)
  }

  /**
   * Runs an app callback whose result nobody awaits (a message, a timer):
   * a throw or rejection is reported, never thrown. Nothing runs once the
   * app is no longer live.
   */
  call(during: string, fn: () => unknown): void {
    if (!this.#live) return
    try {
      const result = current.run(this, fn)
      if (isThenable(result)) result.then(undefined, (err: unknown) => this.#report(err, during))
    } catch (err) {
      this.#report(err, during)
    }
  }

  /**
   * Runs an app callback whose result matters (an invocation, a state
   * provider): a throw or rejection is reported and passed on to the caller.
   */
  value<T>(during: string, fn: () => T): T {
    if (!this.#live) throw new AppNotRunningError(this.name)
    try {
      const result = current.run(this, fn)
      if (!isThenable(result)) return result
      return Promise.resolve(result).catch((err: unknown) => {
        this.#report(err, during)
        throw err
      }) as T
    } catch (err) {
      this.#report(err, during)
      throw err
    }
  }

  /** Keeps `dispose` for `close()`; the returned function runs it early and forgets it. */
  track(dispose: () => void): () => void {
    let done = false
    const once = () => {
      if (done) return
      done = true
      this.#disposers.delete(once)
      dispose()
    }
    this.#disposers.add(once)
    return once
  }

  /** Releases everything tracked; the app can use its context no more. */
  close(onError: (err: unknown) => void): void {
    this.#live = false
    this.#open = false
    for (const dispose of [...this.#disposers]) {
      try {
        dispose()
      } catch (err) {
        onError(err)
      }
    }
  }
}
