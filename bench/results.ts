// The results files the benchmarks write: each says what it is of (when, which
// commit, whether the tree had uncommitted changes, which machine), and a run
// of some phases only replaces those phases in it, each phase keeping the
// commit it was measured at.
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus, release, totalmem } from 'node:os'
import { round } from './lib.ts'

export interface GitState {
  /** `git rev-parse HEAD`; null outside a checkout */
  commit: string | null
  /** `git status --porcelain` listed something: the measured code may not be that commit */
  dirty: boolean | null
  /** the same, for packages/ only (the code under test) */
  packagesDirty: boolean | null
}

/** The commit checked out now, and whether the tree differs from it. */
export function gitState(): GitState {
  try {
    const git = (...args: string[]) =>
      execFileSync('git', args, { cwd: import.meta.dirname, encoding: 'utf8' })
    return {
      commit: git('rev-parse', 'HEAD').trim(),
      dirty: git('status', '--porcelain').trim() !== '',
      packagesDirty: git('status', '--porcelain', '--', '../packages').trim() !== '',
    }
  } catch {
    return { commit: null, dirty: null, packagesDirty: null }
  }
}

export function machine() {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? null,
    memoryGiB: round(totalmem() / 2 ** 30, 1),
    kernel: release(),
    platform: process.platform,
  }
}

/**
 * Writes `fields` to `out` after the date, commit and machine. With `merge`,
 * the phases of the file already there that this run did not measure stay,
 * with their own `git`; a phase of this run without a `git` of its own gets
 * the run's.
 */
export function writeResults(
  out: string,
  fields: Record<string, unknown> & { phases: Record<string, unknown> },
  merge: boolean,
): void {
  const previous =
    merge && existsSync(out)
      ? (JSON.parse(readFileSync(out, 'utf8')) as { phases?: Record<string, unknown> })
      : {}
  const git = gitState()
  const stamped = (phase: unknown) =>
    typeof phase === 'object' && phase !== null && !('git' in phase) ? { ...phase, git } : phase
  const phases = Object.fromEntries(Object.entries(fields.phases).map(([name, p]) => [name, stamped(p)]))
  const result = {
    ...previous,
    date: new Date().toISOString(),
    git,
    machine: machine(),
    node: process.version,
    ...fields,
    phases: { ...previous.phases, ...phases },
  }
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`)
}
