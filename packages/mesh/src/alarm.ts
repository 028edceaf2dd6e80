import { type Clock, systemClock } from './clock.ts'

/** A sleep that another part of the code can cut short (one sleeper at a time). */
export class Alarm {
  readonly #clock: Clock
  #wake: (() => void) | null = null

  constructor(clock: Clock = systemClock) {
    this.#clock = clock
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = this.#clock.setTimeout(() => {
        this.#wake = null
        resolve()
      }, ms)
      this.#wake = () => {
        this.#clock.clearTimeout(timer)
        this.#wake = null
        resolve()
      }
    })
  }

  /** Ends the current sleep now, if there is one. */
  wake(): void {
    this.#wake?.()
  }
}
