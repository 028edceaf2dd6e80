export interface WaitOptions {
  /** give up after this long; default 10 s */
  timeout?: number
  /** poll interval; default 50 ms */
  interval?: number
  /** what is awaited, for the error message */
  what?: string
  /** errors that end the wait at once instead of being retried */
  fatal?: (err: unknown) => boolean
}

export const DEFAULT_WAIT_TIMEOUT_MS = 10_000
export const DEFAULT_WAIT_INTERVAL_MS = 50

/**
 * Polls `check` until it returns a value other than undefined/false, and
 * resolves with it. Tests wait for conditions, never for fixed times.
 */
export async function waitFor<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  opts: WaitOptions = {},
): Promise<T> {
  const timeout = opts.timeout ?? DEFAULT_WAIT_TIMEOUT_MS
  const interval = opts.interval ?? DEFAULT_WAIT_INTERVAL_MS
  const deadline = Date.now() + timeout
  let lastError: unknown
  for (;;) {
    try {
      const value = await check()
      if (value !== undefined && value !== false) return value
    } catch (err) {
      if (opts.fatal?.(err) === true) throw err
      lastError = err
    }
    if (Date.now() >= deadline) {
      const why = lastError === undefined ? '' : ` (last error: ${String(lastError)})`
      throw new Error(`timed out after ${timeout} ms waiting for ${opts.what ?? 'a condition'}${why}`)
    }
    await new Promise((r) => setTimeout(r, interval))
  }
}
