// Helpers the benchmarks share: statistics, number formatting, progress
// lines, and /proc readings (a daemon's pid behind its wrapper, RSS, CPU
// ticks, and the CPU share of processes outside the benchmark).
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync, readlinkSync } from 'node:fs'
import { basename } from 'node:path'
import { TAG_VIDEO } from '@meshcast/testing'

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN
}

export function median(values: readonly number[]): number {
  return quantile(values, 0.5)
}

export function max(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : values.reduce((a, b) => Math.max(a, b), -Infinity)
}

export function min(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : values.reduce((a, b) => Math.min(a, b), Infinity)
}

/** The longest time a player went without video between `from` and `from + ms` (the window's ends count as frames). */
export function longestVideoGap(
  tags: readonly { type: number; at: number }[],
  from: number,
  ms: number,
): number {
  const times = [
    from,
    ...tags.filter((t) => t.type === TAG_VIDEO && t.at >= from).map((t) => t.at),
    from + ms,
  ]
  let gap = 0
  for (let i = 1; i < times.length; i++) gap = Math.max(gap, (times[i] ?? 0) - (times[i - 1] ?? 0))
  return gap
}

export const round = (v: number | null | undefined, digits = 1) =>
  v !== null && v !== undefined && Number.isFinite(v) ? Number(v.toFixed(digits)) : null

export const fmt = (v: number | null | undefined, digits = 0) =>
  v === null || v === undefined || !Number.isFinite(v)
    ? '—'
    : v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })

export const nums = (values: readonly (number | null | undefined)[]): number[] =>
  values.filter((v): v is number => v !== null && v !== undefined && Number.isFinite(v))

const isTty = process.stderr.isTTY === true
export function progress(text: string): void {
  if (isTty) process.stderr.write(`\r\x1b[K${text}`)
  else process.stderr.write(`${text}\n`)
}
export function progressDone(): void {
  if (isTty) process.stderr.write('\r\x1b[K')
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/**
 * The pid of the daemon's Node process: `pid` itself when it is a `node`
 * executable running meshcast.js, else (a wrapper such as
 * node_modules/.bin/node, a shell script) the first such descendant.
 */
export function daemonPid(pid: number): number {
  const exe = readlinkSync(`/proc/${pid}/exe`)
  const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
  if (basename(exe) === 'node' && args.some((a) => a.endsWith('meshcast.js'))) return pid
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/)
  for (const child of children.filter(Boolean).map(Number)) {
    try {
      return daemonPid(child)
    } catch {
      // not this one
    }
  }
  throw new Error(`pid ${pid} (${exe} ${args.join(' ')}) is no meshcast node process`)
}

export function rssMiB(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]) / 1024
  } catch {
    return null // gone
  }
}

/** Clock ticks a second in /proc/<pid>/stat. */
export const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
  } catch {
    return 100
  }
})()

/** utime + stime of one process, in ticks (null: gone). */
export function procTicks(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return Number(f[11]) + Number(f[12])
  } catch {
    return null
  }
}

/**
 * Per-process CPU over a window that starts now: `end()` gives the seconds
 * elapsed and each process's share of one core over them (%, null: gone).
 */
export function processCpuWindow(pids: readonly number[]) {
  const before = pids.map(procTicks)
  const t0 = performance.now()
  return {
    end() {
      const elapsed = (performance.now() - t0) / 1000
      const pct = pids.map((pid, i) => {
        const [a, b] = [before[i], procTicks(pid)]
        return a == null || b === null ? null : round((100 * (b - a)) / CLK_TCK / elapsed, 2)
      })
      return { elapsed, pct }
    },
  }
}

/** CPU time counters of the whole machine (/proc/stat, in ticks). */
export function cpuTicks(): number[] {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? ''
  return line.trim().split(/\s+/).slice(1).map(Number)
}

/**
 * CPU ticks used by processes outside this benchmark's process tree (other
 * work on the box, e.g. a test suite, skews every number here): sampled
 * every half second, so short-lived processes are undercounted.
 */
const foreign = { ticks: 0, last: new Map<number, number>() }
function sampleForeign(): void {
  const procs = new Map<number, { ppid: number; ticks: number }>()
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      procs.set(Number(name), { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) })
    } catch {
      // gone meanwhile
    }
  }
  const mine = new Set([process.pid])
  for (let grew = true; grew; ) {
    grew = false
    for (const [pid, p] of procs)
      if (!mine.has(pid) && mine.has(p.ppid)) {
        mine.add(pid)
        grew = true
      }
  }
  const now = new Map<number, number>()
  for (const [pid, p] of procs) {
    if (mine.has(pid)) continue
    const before = foreign.last.get(pid)
    if (before !== undefined) foreign.ticks += Math.max(0, p.ticks - before)
    now.set(pid, p.ticks)
  }
  foreign.last = now
}
sampleForeign()
setInterval(sampleForeign, 500).unref()

export interface CpuMark {
  stat: number[]
  foreign: number
}
export const cpuMark = (): CpuMark => ({ stat: cpuTicks(), foreign: foreign.ticks })

/** Shares of the machine's CPU time since `from`: busy, stolen by the hypervisor, used by processes not ours. */
export function cpuSince(from: CpuMark) {
  sampleForeign()
  const d = cpuTicks().map((v, i) => v - (from.stat[i] ?? 0))
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = d
  const total = user + nice + system + idle + iowait + irq + softirq + steal
  const pct = (v: number) => round((100 * v) / Math.max(total, 1), 1)
  return {
    busyPct: pct(total - idle - iowait - steal),
    stealPct: pct(steal),
    foreignPct: pct(foreign.ticks - from.foreign),
  }
}
export type CpuShares = ReturnType<typeof cpuSince>

/** One row of a benchmark's printed table. */
export type Row = [what: string, result: string, goal: string, verdict: string]

/** Prints rows as a Markdown table under `measurement | result | goal | (verdict)`. */
export function printTable(rows: readonly Row[]): void {
  const header: Row = ['measurement', 'result', 'goal', '']
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (r: Row) => `| ${r.map((c, i) => c.padEnd(widths[i] as number)).join(' | ')} |`
  console.log(line(header))
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`)
  for (const r of rows) console.log(line(r))
}

/** A warning when processes outside the benchmark used a noticeable share of the CPU. */
export function othersNote(cpu: (CpuShares | undefined)[]): string {
  const worst = max(cpu.map((c) => c?.foreignPct ?? 0))
  return worst >= 5 ? `other processes used up to ${fmt(worst)} % of the CPU` : ''
}
