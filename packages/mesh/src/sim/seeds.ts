import { explain, runSchedule, type ScheduleOptions, type ScheduleResult } from './schedule.ts'

export interface SeedsSummary {
  runs: number
  /** seeds whose schedule broke a property */
  failed: number[]
  /** the first failure's full story (explain), or '' */
  firstFailure: string
  /** longest ms from the faults' end to one view */
  worstAgreement: number
  /** schedules whose replicated log was checked (crash faults only, nothing merged) */
  logChecked: number
  finalDelivered: number
  /** schedules that ended in more than one view (members that never met, with no way to each other) */
  apart: number
  steps: number
}

/** Runs the schedules of `seeds` one after another; `each` sees every result (a progress line, a results file). */
export async function runSeeds(
  seeds: Iterable<number>,
  options: ScheduleOptions = {},
  each?: (result: ScheduleResult) => void,
): Promise<SeedsSummary> {
  const summary: SeedsSummary = {
    runs: 0,
    failed: [],
    firstFailure: '',
    worstAgreement: 0,
    logChecked: 0,
    finalDelivered: 0,
    apart: 0,
    steps: 0,
  }
  for (const seed of seeds) {
    const r = await runSchedule(seed, options)
    summary.runs++
    summary.steps += r.steps
    summary.finalDelivered += r.finalDelivered
    if (r.logChecked) summary.logChecked++
    if (r.endViews > 1) summary.apart++
    if (r.agreedAfter !== null) summary.worstAgreement = Math.max(summary.worstAgreement, r.agreedAfter)
    if (r.failures.length > 0) {
      summary.failed.push(seed)
      if (summary.firstFailure === '') summary.firstFailure = explain(r)
    }
    each?.(r)
  }
  return summary
}

/** `count` seeds from `from`, or the one SIM_SEED names (replaying a failure). */
export function seedRange(from: number, count: number): number[] {
  const one = process.env.SIM_SEED
  if (one !== undefined && one !== '') return [Number(one)]
  return Array.from({ length: count }, (_, i) => from + i)
}

/**
 * For tests: runs `count` seeds from `from` (SIM_FROM moves every range;
 * SIM_SEED=n replays one seed and prints its story), reports the figures
 * and fails with the first failing seed's story.
 */
export async function assertSeeds(
  t: { diagnostic: (line: string) => void },
  from: number,
  count: number,
  options: ScheduleOptions = {},
): Promise<SeedsSummary> {
  const list = seedRange(from + Number(process.env.SIM_FROM ?? 0), count)
  const s = await runSeeds(list, options, (r) => {
    if (process.env.SIM_SEED !== undefined) t.diagnostic(explain(r))
  })
  t.diagnostic(
    `seeds ${list[0]}-${list.at(-1)}: ${s.failed.length} failed; back together at most ${s.worstAgreement} ms after the faults stopped; ${s.apart} ended in more than one view (members that never met); ${s.finalDelivered} final-round messages delivered; ${s.steps} steps`,
  )
  if (s.failed.length > 0) throw new Error(`seeds ${s.failed.join(', ')} failed\n${s.firstFailure}`)
  return s
}
