// A phase's series, one per system: each that can run here runs (in turn, on
// a quiet box), a failure is kept as that system's error, not the phase's.
import { errorText } from '../../lib.ts'
import type { System } from '../system.ts'

export interface BySystem<R> {
  results: R[]
  errors: Record<string, string>
  skipped: Record<string, string>
}

/** Runs `series` for each system, skipping those `skip` names a reason for (and those missing here). */
export async function eachSystem<R>(
  systems: readonly System[],
  series: (system: System) => Promise<R>,
  skip: (system: System) => string | null = () => null,
): Promise<BySystem<R>> {
  const out: BySystem<R> = { results: [], errors: {}, skipped: {} }
  for (const system of systems) {
    const why = system.missing() ?? skip(system)
    if (why !== null) {
      out.skipped[system.name] = why
      continue
    }
    try {
      out.results.push(await series(system))
    } catch (err) {
      out.errors[system.name] = errorText(err)
    }
  }
  return out
}
