import type { Logger, StateHandlers } from '@meshcast/interface'
import { BusArgumentError } from './errors.ts'

/**
 * State providers and receivers by name. State that arrives for a name
 * with no receiver yet is kept, and handed over when one registers.
 */
export class StateRegistry {
  readonly #log: Logger
  readonly #handlers = new Map<string, StateHandlers>()
  readonly #unclaimed = new Map<string, unknown>()

  constructor(logger: Logger) {
    this.#log = logger
  }

  register(name: string, handlers: StateHandlers): () => void {
    if (this.#handlers.has(name)) throw new BusArgumentError(`state "${name}" is already registered`)
    this.#handlers.set(name, handlers)
    if (this.#unclaimed.has(name)) {
      const state = this.#unclaimed.get(name)
      this.#unclaimed.delete(name)
      this.#receive(name, handlers, state)
    }
    return () => {
      if (this.#handlers.get(name) === handlers) this.#handlers.delete(name)
    }
  }

  /** Every provider's state (or only `names`'); a provider that throws is logged and left out. */
  collect(names?: readonly string[]): Record<string, unknown> {
    const out: Record<string, unknown> = {}
    for (const [name, h] of this.#handlers) {
      if (names !== undefined && !names.includes(name)) continue
      try {
        out[name] = h.provide() ?? null
      } catch (err) {
        this.#log.error('state provider threw; its state is not transferred', {
          name,
          error: (err as Error).message,
        })
      }
    }
    return out
  }

  apply(state: Record<string, unknown>): void {
    for (const [name, value] of Object.entries(state)) {
      const h = this.#handlers.get(name)
      if (h === undefined) this.#unclaimed.set(name, value)
      else this.#receive(name, h, value)
    }
  }

  #receive(name: string, h: StateHandlers, state: unknown): void {
    try {
      h.receive(state)
    } catch (err) {
      this.#log.error('state receiver threw', { name, error: (err as Error).message })
    }
  }
}
