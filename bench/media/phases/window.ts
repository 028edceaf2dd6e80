// CPU and memory of server processes over a measuring window.
import { type CpuShares, cpuMark, cpuSince, processCpuWindow, round, rssMiB, sleep } from '../../lib.ts'

export interface Window {
  seconds: number
  /** % of one core, per process label */
  cpuPct: Record<string, number | null>
  rssMiB: Record<string, number | null>
  /** this benchmark's own process (the players) */
  benchCpuPct: number | null
  cpu: CpuShares
}

/** CPU of each of `pids` over the next `seconds`, their RSS at the end. */
export async function measureWindow(pids: Record<string, number>, seconds: number): Promise<Window> {
  const mark = cpuMark()
  const self = process.cpuUsage()
  const entries = Object.entries(pids)
  const window = processCpuWindow(entries.map(([, pid]) => pid))
  await sleep(seconds * 1000)
  const { elapsed, pct } = window.end()
  const used = process.cpuUsage(self)
  const cpuPct = Object.fromEntries(entries.map(([k], i) => [k, pct[i] ?? null]))
  const rss = Object.fromEntries(entries.map(([k, pid]) => [k, round(rssMiB(pid), 1)]))
  return {
    seconds: round(elapsed, 2) ?? seconds,
    cpuPct,
    rssMiB: rss,
    benchCpuPct: round((100 * (used.user + used.system)) / 1e6 / elapsed, 1),
    cpu: cpuSince(mark),
  }
}
