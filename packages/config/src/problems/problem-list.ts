import { ConfigError, type ConfigProblem } from '@meshcast/interface'
import { InvalidValueError } from './invalid-value-error.ts'

/** Where a problem sits: a ConfigProblem without its message. */
export type ProblemPlace = Omit<ConfigProblem, 'message'>

/** Collects problems so one load reports all of them in a single ConfigError. */
export class ProblemList {
  readonly problems: ConfigProblem[] = []

  add(problem: ConfigProblem): void {
    // drop undefined fields so problems compare and print cleanly
    const entries = Object.entries(problem).filter(([, v]) => v !== undefined)
    this.problems.push(Object.fromEntries(entries) as unknown as ConfigProblem)
  }

  addAll(problems: readonly ConfigProblem[]): void {
    for (const problem of problems) this.add(problem)
  }

  /** Runs one value parser; a bad value is recorded at `place` and `fallback` is returned so checking goes on. */
  check<T>(place: ProblemPlace, parse: () => T, fallback: T): T {
    try {
      return parse()
    } catch (err) {
      if (!(err instanceof InvalidValueError)) throw err
      this.add({ ...place, message: err.message })
      return fallback
    }
  }

  /** Runs a step that may throw a ConfigError, keeping its problems; undefined when it threw. */
  collect<T>(step: () => T): T | undefined {
    try {
      return step()
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err
      this.addAll(err.problems)
      return undefined
    }
  }

  throwIfAny(): void {
    if (this.problems.length > 0) throw new ConfigError(this.problems)
  }
}
