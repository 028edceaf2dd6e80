import type { Logger } from '@meshcast/interface'

/**
 * One part of a node's life, in the hooks libp2p's `Startable` has: the
 * parts start in order; a stop first runs every started part's
 * `beforeStop` in that order while everything still runs (the drain), then
 * their `stop`s in reverse order, so a part never outlives what it uses.
 */
export interface Phase {
  readonly name: string
  /** the listeners this part brings up, as `/api/status` names them */
  readonly up?: readonly string[]
  start?(): Promise<void> | void
  beforeStop?(): Promise<void> | void
  /** must cope with a start that threw half-way (a listener bound, the next one failed) */
  stop?(): Promise<void> | void
}

/** `Lifecycle.stop()`: a part's stop threw; the parts after it were still stopped. */
export class StopFailedError extends AggregateError {
  constructor(errors: { phase: string; error: unknown }[]) {
    super(
      errors.map((e) => e.error),
      `stopping failed in ${errors.map((e) => e.phase).join(', ')}`,
    )
    this.name = 'StopFailedError'
  }
}

/**
 * Runs a list of phases once: `start()` then `stop()`. A start that throws
 * stops the parts begun so far (the one that threw too) before it rethrows.
 */
export class Lifecycle {
  readonly #phases: readonly Phase[]
  readonly #log: Logger
  /** the parts whose start was called, in start order */
  readonly #begun: Phase[] = []
  readonly #up = new Set<string>()

  constructor(phases: readonly Phase[], logger: Logger) {
    this.#phases = phases
    this.#log = logger
  }

  /** The listeners of the parts started and not stopped yet. */
  get up(): ReadonlySet<string> {
    return this.#up
  }

  async start(): Promise<void> {
    for (const phase of this.#phases) {
      this.#begun.push(phase)
      try {
        await phase.start?.()
      } catch (err) {
        this.#log.debug('start failed: stopping what started', { phase: phase.name })
        await this.stop().catch(() => undefined)
        throw err
      }
      for (const name of phase.up ?? []) this.#up.add(name)
    }
  }

  /** Every begun part's `beforeStop`, then their `stop`s in reverse; a part that throws does not keep the rest from stopping. */
  async stop(): Promise<void> {
    const begun = this.#begun.splice(0)
    const failed: { phase: string; error: unknown }[] = []
    const run = async (phase: Phase, hook: 'beforeStop' | 'stop') => {
      try {
        await phase[hook]?.()
      } catch (error) {
        this.#log.error(`${hook} failed`, { phase: phase.name, error: String(error) })
        failed.push({ phase: phase.name, error })
      }
    }
    for (const phase of begun) await run(phase, 'beforeStop')
    for (const phase of begun.reverse()) {
      for (const name of phase.up ?? []) this.#up.delete(name)
      await run(phase, 'stop')
    }
    if (failed.length > 0) throw new StopFailedError(failed)
  }
}
