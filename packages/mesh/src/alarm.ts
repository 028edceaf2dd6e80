/** A sleep that another part of the code can cut short (one sleeper at a time). */
export class Alarm {
  #wake: (() => void) | null = null

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = null
        resolve()
      }, ms)
      this.#wake = () => {
        clearTimeout(timer)
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
