import type { Logger, Startable } from '@meshcast/interface'

/** How long a stop may take before the process gives up and exits 1 (unless the service says more). */
export const STOP_TIMEOUT_MS = 10_000

/**
 * A signal that repeats the first this soon is the same request delivered
 * twice, not a second one: a terminal's Ctrl-C reaches `pnpm demo`'s pnpm and
 * the node at once, and pnpm passes it on (seen: "second signal while
 * stopping", exit 1, on every Ctrl-C). A person's second Ctrl-C comes later.
 */
export const REPEAT_WINDOW_MS = 500

/** A service that may need longer than STOP_TIMEOUT_MS to stop (a node draining first). */
export interface Stoppable extends Startable {
  readonly stopTimeoutMs?: number
}

export interface RunOptions {
  /** stop when stdin ends: a supervisor (the test launcher) that dies takes its nodes with it */
  stopOnStdinClose?: boolean
}

/** Why the process is asked to stop: the first SIGINT, SIGTERM (or stdin closing) from `watchForStop` on. */
export interface StopRequest {
  readonly reason: Promise<string>
  /** whether a signal now is the first one again (within REPEAT_WINDOW_MS of it) */
  isRepeat(): boolean
  /** stop listening (the service never started) */
  disarm(): void
}

/**
 * Listens for SIGINT and SIGTERM (and stdin closing, when asked) from now
 * on. Call it before starting the service: a signal that comes while it
 * starts (a supervisor stopping a node that is still joining) would
 * otherwise kill the process with Node's default action, with no graceful
 * stop; with this, the service stops as soon as it is up.
 */
export function watchForStop(opts: RunOptions = {}): StopRequest {
  const { promise, resolve: settle } = Promise.withResolvers<string>()
  let askedAt: number | null = null
  const resolve = (why: string) => {
    askedAt ??= performance.now()
    settle(why)
  }
  const isRepeat = () => askedAt !== null && performance.now() - askedAt < REPEAT_WINDOW_MS
  const onSignal = (signal: NodeJS.Signals) => {
    // a second signal while the service still starts (a start that hangs): give up at once
    if (askedAt !== null) {
      if (isRepeat()) return
      process.stderr.write(`second ${signal} before the node was up: exiting now\n`)
      process.exit(1)
    }
    resolve(signal)
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  if (opts.stopOnStdinClose === true) {
    process.stdin.on('end', () => resolve('stdin closed'))
    process.stdin.on('error', () => resolve('stdin closed'))
    process.stdin.resume()
  }
  const disarm = () => {
    process.removeListener('SIGINT', onSignal)
    process.removeListener('SIGTERM', onSignal)
    if (opts.stopOnStdinClose === true) process.stdin.pause()
  }
  return { reason: promise, isRepeat, disarm }
}

/**
 * Runs until SIGINT or SIGTERM (or stdin closing, when asked), then stops
 * cleanly. Resolves with the exit code: 0 after a clean stop, 1 if stopping
 * failed or timed out. A second signal while stopping exits at once (one
 * within REPEAT_WINDOW_MS of the first is that first one again).
 * `request` is a `watchForStop` made before the service started.
 */
export async function runUntilSignal(
  service: Stoppable,
  logger: Logger,
  opts: RunOptions = {},
  request: StopRequest = watchForStop(opts),
): Promise<number> {
  const why = await request.reason
  logger.info('stopping', { reason: why })
  request.disarm()
  const again = () => {
    if (request.isRepeat()) return
    logger.warn('second signal while stopping: exiting now')
    process.exit(1)
  }
  process.on('SIGINT', again)
  process.on('SIGTERM', again)
  const timeoutMs = service.stopTimeoutMs ?? STOP_TIMEOUT_MS
  const timeout = setTimeout(() => {
    logger.error('stop timed out', { ms: timeoutMs })
    process.exit(1)
  }, timeoutMs)
  timeout.unref()
  try {
    await service.stop()
    logger.info('stopped')
    return 0
  } catch (err) {
    logger.error('stop failed', { err: String(err) })
    return 1
  } finally {
    clearTimeout(timeout)
  }
}
