// Benchmark: the mesh. Time to one view and idle RSS (real daemons), failure
// detection after SIGKILL and SIGSTOP, bus latency at 1,000 msgs/s and the
// highest sustained zero-loss rate (bare mesh peers, each in its own process).
// Prints a table on stdout, progress on stderr, and writes bench/results/mesh.json
// (a run of some phases only updates those phases in it; --quick writes mesh-quick.json).
// Usage: npx -y pnpm@10 bench:mesh [views] [kill] [cut] [latency] [rate] [--quick]
//   [--sizes=10,20] [--runs=3] (views only: which sizes, how many runs each)
//   [--out=file.json] (results elsewhere) [--logs=dir] (every daemon's debug log, per run)
// e.g. only the join part at 10 and 20 nodes: node bench/mesh.ts views --sizes=10,20 --out=/tmp/v.json
//
// A rate step passes when every receiver got every message once and in order,
// with no gap event, no suspicion and no view change, the senders published at
// ≥ 90 % of the offered rate, and the last delivery came ≤ 2 s after the
// offered schedule ended. A failed step does not end the ladder: the next
// runs in a fresh group; two failures in a row do.
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { join } from 'node:path'
import {
  type MeshPeer,
  type NodeProcess,
  PeerGroup,
  type PeerReport,
  type Received,
  TestCluster,
} from '@meshcast/testing'
import * as meshOptions from '../packages/mesh/src/options.ts'
import {
  type CpuShares,
  cpuMark,
  cpuSince,
  daemonPid,
  errorText,
  fmt,
  max,
  median,
  othersNote,
  printTable,
  processCpuWindow,
  progress,
  progressDone,
  quantile,
  type Row,
  round,
  rssMiB,
  sleep,
} from './lib.ts'
import { writeResults } from './results.ts'

// ---- command line and parameters ------------------------------------------

const PHASES = ['views', 'kill', 'cut', 'latency', 'rate'] as const
type Phase = (typeof PHASES)[number]
const argv = process.argv.slice(2)
const QUICK = argv.includes('--quick')
/** `--name=value` options: they narrow a run (e.g. `views --sizes=10,20`) or redirect its output. */
const OPTIONS = ['sizes', 'runs', 'out', 'logs'] as const
const option = (name: (typeof OPTIONS)[number]): string | undefined =>
  argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3)
const isOption = (a: string) => OPTIONS.some((name) => a.startsWith(`--${name}=`))
const named = argv.filter((a) => a !== '--quick' && !isOption(a))
const unknownArgs = named.filter((a) => !(PHASES as readonly string[]).includes(a))
const SIZES = option('sizes')?.split(',').map(Number)
const RUNS = option('runs') === undefined ? undefined : Number(option('runs'))
if (
  unknownArgs.length > 0 ||
  SIZES?.some((n) => !Number.isInteger(n) || n < 2) === true ||
  (RUNS !== undefined && !(Number.isInteger(RUNS) && RUNS > 0))
) {
  console.error(`bad argument(s): ${[...unknownArgs, ...argv.filter(isOption)].join(' ')}`)
  console.error(
    `usage: node bench/mesh.ts [${PHASES.join('] [')}] [--quick] [--sizes=10,20] [--runs=3] [--out=file.json] [--logs=dir]`,
  )
  console.error('  --sizes/--runs: which cluster sizes the views phase starts, and how often')
  console.error('  --out: results file instead of bench/results/mesh.json; --logs: every daemon log, per run')
  process.exit(2)
}
const selected: Phase[] = PHASES.filter((p) => named.length === 0 || named.includes(p))

const P = {
  /** daemons per cluster for "time to one view" */
  viewSizes: SIZES ?? (QUICK ? [3, 5] : [3, 5, 10, 20]),
  viewRuns: RUNS ?? (QUICK ? 1 : 3),
  viewPollMs: 25,
  viewTimeoutMs: 120_000,
  /**
   * how long to wait before reading the daemons' memory and CPU: each runs
   * one full GC 3 s after ready, and members connect to each other 1 s
   * after the view holds (viewHold)
   */
  idleWaitMs: 8000,
  /** window over which each daemon's idle CPU is read */
  idleCpuWindowMs: 5000,
  /** peers per group for the failure-detection and bus phases */
  peers: 5,
  killRuns: QUICK ? 2 : 5,
  cutRuns: QUICK ? 2 : 5,
  detectPollMs: 20,
  detectTimeoutMs: 20_000,
  killGoalMs: 1000,
  cutGoalMs: 3000,
  sizes: [100, 1024],
  latencyRate: 1000,
  latencySenders: 1,
  latencyWarmupS: QUICK ? 1 : 2,
  latencyRunS: QUICK ? 3 : 10,
  /** fresh groups per payload size (the box is small: runs vary) */
  latencyRuns: QUICK ? 1 : 3,
  rateSteps: QUICK ? [2000, 10_000] : [2000, 5000, 10_000, 20_000, 40_000, 80_000, 160_000],
  /** the ladder goes on past a failed step (in a fresh group) until this many fail in a row */
  rateStopAfterFailures: 2,
  rateSenders: [1, 3],
  rateStepS: QUICK ? 2 : 5,
  /** a step is sustained when every receiver has everything this long after the offered schedule ends */
  rateSlackMs: 2000,
  /** …and when the senders published at least this share of the offered rate (flow control may slow them) */
  rateMinAchieved: 0.9,
  /** after a failed step, how long to keep watching for the rest to arrive (loss or just slow?) */
  drainMs: 15_000,
  deliveryPollMs: 100,
}

/** `--logs` asks for debug lines too: they say when each dial, stream and state request happened. */
const LOG_ARGS = ['--log-level', option('logs') === undefined ? 'info' : 'debug']

// ---- small helpers ----------------------------------------------------------

interface LogLine {
  level: string
  message: string
  t: number
  [field: string]: unknown
}

function parseLog(lines: readonly string[]): LogLine[] {
  const out: LogLine[] = []
  for (const line of lines) {
    try {
      out.push(JSON.parse(line) as LogLine)
    } catch {
      // not a record
    }
  }
  return out
}

/** The log lines that tell what membership and the bus did (for a failure's evidence). */
function notable(report: PeerReport, since = 0): string[] {
  return parseLog(report.log)
    .filter(
      (l) =>
        l.t >= since &&
        (l.level !== 'info' || /suspect|removed|new view|lost|drop|fail|cleared/.test(l.message)),
    )
    .slice(-40)
    .map((l) => JSON.stringify(l))
}

/** CPU time counters of the whole machine (/proc/stat, in ticks). */

interface PeerExit {
  peer: string
  code: number | null
  signal: string | null
}

/** Peers whose process has ended without being told to (a crash), except `killed`. */
function crashedPeers(group: PeerGroup, killed?: MeshPeer): PeerExit[] {
  return group.peers
    .filter((p) => p !== killed && (p.child.exitCode !== null || p.child.signalCode !== null))
    .map((p) => ({ peer: p.name, code: p.child.exitCode, signal: p.child.signalCode }))
}

/**
 * Stops every peer of `group`, whatever state it is in (MeshPeer.stop throws
 * when a peer's channel closed under it, e.g. after a crash): a peer that
 * does not stop cleanly is SIGKILLed.
 */
async function stopPeers(group: PeerGroup): Promise<void> {
  await Promise.all(
    group.peers.map(async (p) => {
      try {
        if (p.child.connected) await p.stop()
      } catch {
        // stopped below
      }
      p.kill('SIGKILL')
      await Promise.race([p.exited, sleep(5000)])
    }),
  )
}

// ---- 1. time to one view (daemons) -------------------------------------------

interface ViewBody {
  id: string
  coordinator: string
  members: string[]
}

async function viewOf(node: NodeProcess): Promise<ViewBody | null> {
  try {
    const res = await fetch(`${node.httpUrl}/api/view`, { signal: AbortSignal.timeout(2000) })
    return res.ok ? ((await res.json()) as ViewBody) : null
  } catch {
    return null // not listening yet
  }
}

/** The view every node shows, when they all show the same one of `count` members (stops at the first that does not). */
async function oneDaemonView(nodes: readonly NodeProcess[], count: number): Promise<ViewBody | null> {
  let first: ViewBody | null = null
  for (const node of nodes) {
    const v = await viewOf(node)
    if (v === null || v.members.length !== count) return null
    if (first === null) first = v
    else if (v.id !== first.id) return null
  }
  return first
}

interface ViewRun {
  n: number
  run: number
  /** first spawn of the N-1 → every node shows one view of N; null: not within the timeout */
  ms: number | null
  /** the last node's mesh listening → one view of N (the goal's "after the last node is ready") */
  afterLastUpMs?: number | null
  viewId: string | null
  /** the same view still on every node after the idle wait */
  stableAfterIdle: boolean | null
  rssMiB: number[]
  /** per daemon: % of one core over idleCpuWindowMs once idle */
  idleCpuPct: number[]
  /** machine CPU from the first spawn until one view */
  cpu?: CpuShares
  /** what the daemons logged meanwhile */
  logs?: DaemonLogSummary
  error?: string
}

interface DaemonLogSummary {
  /** per node, ms from the first spawn until its log shows a view of N members (sorted; null: never) */
  fullViewMs: (number | null)[]
  /** ms from the first spawn until the last node's mesh was listening (its process is up) */
  lastListeningMs: number | null
  /** warnings and errors by message (addresses replaced by <addr>) */
  warnings: Record<string, number>
  /** nodes that warned about their seed (unreachable, or "not of this cluster") */
  seedTroubleNodes: number
  suspicions: number
  removedAsSuspected: number
  samples: string[]
}

function daemonLogs(nodes: readonly NodeProcess[], wall0: number, n: number): DaemonLogSummary {
  const summary: DaemonLogSummary = {
    fullViewMs: [],
    lastListeningMs: null,
    warnings: {},
    seedTroubleNodes: 0,
    suspicions: 0,
    removedAsSuspected: 0,
    samples: [],
  }
  for (const node of nodes) {
    const records = node.records()
    const at = (r: Record<string, unknown>) => Date.parse(String(r.timestamp)) - wall0
    const full = records.find(
      (r) => (r.message === 'joined the cluster' || r.message === 'new view') && r.members === n,
    )
    summary.fullViewMs.push(full === undefined ? null : at(full))
    const listening = records.find((r) => r.message === 'mesh listening')
    if (listening !== undefined && node !== nodes[0])
      summary.lastListeningMs = Math.max(summary.lastListeningMs ?? 0, at(listening))
    let seedTrouble = false
    for (const r of records) {
      const message = String(r.message)
      if (message === 'member suspected') summary.suspicions++
      if (message === 'member removed' && /suspected/.test(String(r.why))) summary.removedAsSuspected++
      if (r.level !== 'warn' && r.level !== 'error') continue
      const key =
        message === 'dropped inbound mesh message'
          ? `${message} (${String(r.reason)})`
          : message.replace(/127\.\d+\.\d+\.\d+(:\d+)?/g, '<addr>')
      summary.warnings[key] = (summary.warnings[key] ?? 0) + 1
      if (/not of this cluster|cannot reach/.test(message)) seedTrouble = true
      if (key.includes('(replayed)') || summary.samples.length >= 12) continue
      summary.samples.push(`${node.name} ${JSON.stringify(r).slice(0, 400)}`)
    }
    if (seedTrouble) summary.seedTroubleNodes++
  }
  summary.fullViewMs.sort((a, b) => (a ?? Infinity) - (b ?? Infinity))
  return summary
}

async function timeToView(n: number, run: number): Promise<ViewRun> {
  const cluster = new TestCluster()
  const result: ViewRun = {
    n,
    run,
    ms: null,
    viewId: null,
    stableAfterIdle: null,
    rssMiB: [],
    idleCpuPct: [],
  }
  let wall0 = 0
  try {
    progress(`views: N=${n} run ${run}/${P.viewRuns}: starting node 0`)
    await cluster.start({ args: LOG_ARGS })
    progress(`views: N=${n} run ${run}/${P.viewRuns}: spawning ${n - 1} more at once`)
    wall0 = Date.now()
    const mark = cpuMark()
    const t0 = performance.now()
    const spawning: Promise<NodeProcess>[] = []
    for (let i = 1; i < n; i++) spawning.push(cluster.start({ args: LOG_ARGS, ready: false }))
    await Promise.all(spawning)
    while (performance.now() - t0 < P.viewTimeoutMs) {
      const dead = cluster.nodes.find((node) => node.exit !== null)
      if (dead !== undefined) throw new Error(`${dead.name} exited: ${JSON.stringify(dead.exit)}`)
      const view = await oneDaemonView(cluster.nodes, n)
      if (view !== null) {
        result.ms = round(performance.now() - t0, 0)
        result.cpu = cpuSince(mark)
        result.viewId = view.id
        break
      }
      await sleep(P.viewPollMs)
    }
    if (result.ms === null) {
      const views = await Promise.all(cluster.nodes.map(viewOf))
      result.error = `no single view of ${n} within ${P.viewTimeoutMs} ms; last views: ${JSON.stringify(
        views.map((v) => (v === null ? null : { id: v.id, members: v.members.length })),
      )}`
      return result
    }
    progress(`views: N=${n} run ${run}/${P.viewRuns}: one view after ${result.ms} ms; idling`)
    await sleep(P.idleWaitMs)
    const pids = cluster.nodes.map((node) => daemonPid(node.child.pid as number))
    result.rssMiB = pids.map((pid) => round(rssMiB(pid), 1) ?? 0)
    const window = processCpuWindow(pids)
    await sleep(P.idleCpuWindowMs)
    result.idleCpuPct = window.end().pct.map((pct) => pct ?? 0)
    const after = await oneDaemonView(cluster.nodes, n)
    result.stableAfterIdle = after !== null && after.id === result.viewId
    return result
  } catch (err) {
    result.error = errorText(err)
    return result
  } finally {
    if (wall0 > 0) {
      result.logs = daemonLogs(cluster.nodes, wall0, n)
      const up = result.logs.lastListeningMs
      const full = result.logs.fullViewMs[result.logs.fullViewMs.length - 1]
      result.afterLastUpMs =
        up === null || full === null || full === undefined ? null : Math.max(0, full - up)
    }
    const logs = option('logs')
    if (logs !== undefined) {
      const dir = join(logs, `n${n}-run${run}`)
      mkdirSync(dir, { recursive: true })
      writeFileSync(join(dir, 'spawned.txt'), `${wall0}\n`)
      for (const node of cluster.nodes) writeFileSync(join(dir, `${node.name}.log`), `${node.log()}\n`)
    }
    progress(`views: N=${n} run ${run}/${P.viewRuns}: stopping`)
    await cluster.stopAll()
  }
}

async function phaseViews() {
  const perN = []
  for (const n of P.viewSizes) {
    const runs: ViewRun[] = []
    for (let run = 1; run <= P.viewRuns; run++) runs.push(await timeToView(n, run))
    const ms = runs.flatMap((r) => (r.ms === null ? [] : [r.ms]))
    const afterUp = runs.flatMap((r) => (r.afterLastUpMs == null ? [] : [r.afterLastUpMs]))
    const rss = runs.flatMap((r) => r.rssMiB)
    const idleCpu = runs.flatMap((r) => r.idleCpuPct)
    perN.push({
      n,
      runs,
      converged: ms.length,
      msMedian: round(median(ms), 0),
      msMax: round(max(ms), 0),
      afterLastUpMsMedian: round(median(afterUp), 0),
      afterLastUpMsMax: round(max(afterUp), 0),
      rssMedianMiB: round(median(rss), 1),
      rssMaxMiB: round(max(rss), 1),
      idleCpuPctMedian: round(median(idleCpu), 2),
      idleCpuPctMax: round(max(idleCpu), 2),
    })
  }
  return { date: new Date().toISOString(), loadAverage: loadavg(), perN }
}

// ---- 2./3. failure detection (mesh peers) ------------------------------------

/** Waits until every peer shows one view of `count` members; returns their reports. */
async function onePeerView(peers: readonly MeshPeer[], count: number, timeoutMs = 20_000) {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const reports = await Promise.all(peers.map((p) => p.report()))
    const id = reports[0]?.view.id
    if (reports.every((r) => r.view.id === id && r.view.members.length === count)) return reports
    if (performance.now() > deadline)
      throw new Error(
        `no single view of ${count} within ${timeoutMs} ms: ${JSON.stringify(
          reports.map((r) => ({ id: r.view.id, members: r.view.members.length })),
        )}`,
      )
    await sleep(50)
  }
}

async function startPeers(group: PeerGroup): Promise<{ peers: MeshPeer[]; reports: PeerReport[] }> {
  const peers = await group.addMany(P.peers)
  return { peers, reports: await onePeerView(peers, P.peers) }
}

interface DetectRun {
  signal: 'SIGKILL' | 'SIGSTOP'
  victim: 'member' | 'coordinator'
  run: number
  /** signal → every survivor's view lacks the victim, polled every detectPollMs over IPC */
  polledMs: number | null
  /** signal → the last survivor's "new view" log line naming the victim as left (the survivors' own clocks) */
  loggedMs: number | null
  /** per survivor, from its log */
  perSurvivorMs: (number | null)[]
  /** survivors' suspicions of members other than the victim during the run */
  otherSuspicions: number
  /** survivors then agree on one view of the rest */
  oneViewAfter: boolean
  cpu?: CpuShares
  crashed?: PeerExit[]
  error?: string
  evidence?: string[]
}

async function detection(signal: 'SIGKILL' | 'SIGSTOP', target: 'member' | 'coordinator', run: number) {
  const group = new PeerGroup()
  const result: DetectRun = {
    signal,
    victim: target,
    run,
    polledMs: null,
    loggedMs: null,
    perSurvivorMs: [],
    otherSuspicions: 0,
    oneViewAfter: false,
  }
  let victim: MeshPeer | undefined
  try {
    const { peers, reports } = await startPeers(group)
    // The goals are for members past their first seconds: a just-started one gets 3x the silence.
    progress(
      `detect: ${signal} run ${run}: letting the members age ${meshOptions.DEFAULT_YOUNG_FOR / 1000} s`,
    )
    await sleep(meshOptions.DEFAULT_YOUNG_FOR)
    const ids = reports.map((r) => r.id)
    const coordinator = (reports[0] as PeerReport).view.coordinator
    const others = ids.flatMap((id, i) => (id === coordinator ? [] : [i]))
    const index =
      target === 'coordinator' ? ids.indexOf(coordinator) : (others[run % others.length] as number)
    victim = peers[index] as MeshPeer
    const victimId = ids[index] as string
    const survivors = peers.filter((p) => p !== victim)
    const wall0 = Date.now()
    const mark = cpuMark()
    const t0 = performance.now()
    victim.kill(signal)
    while (performance.now() - t0 < P.detectTimeoutMs) {
      const rs = await Promise.all(survivors.map((p) => p.report()))
      if (rs.every((r) => !r.view.members.includes(victimId))) {
        result.polledMs = round(performance.now() - t0, 0)
        break
      }
      await sleep(P.detectPollMs)
    }
    result.cpu = cpuSince(mark)
    let after = await Promise.all(survivors.map((p) => p.report()))
    try {
      after = await onePeerView(survivors, P.peers - 1, 10_000)
      result.oneViewAfter = true
    } catch {
      result.oneViewAfter = false
    }
    for (const r of after) {
      const lines = parseLog(r.log).filter((l) => l.t >= wall0)
      const left = lines.find(
        (l) => l.message === 'new view' && Array.isArray(l.left) && (l.left as string[]).includes(victimId),
      )
      result.perSurvivorMs.push(left === undefined ? null : left.t - wall0)
      result.otherSuspicions += lines.filter(
        (l) => l.message === 'member suspected' && l.peer !== victimId,
      ).length
    }
    if (result.perSurvivorMs.every((v) => v !== null)) result.loggedMs = max(result.perSurvivorMs as number[])
    if (result.polledMs === null || result.otherSuspicions > 0 || !result.oneViewAfter) {
      result.error =
        result.polledMs === null
          ? `the victim was still in some view after ${P.detectTimeoutMs} ms`
          : result.otherSuspicions > 0
            ? `${result.otherSuspicions} suspicion(s) of live members`
            : 'the survivors did not agree on one view'
      result.evidence = after.flatMap((r) => notable(r, wall0).map((l) => `${r.id.slice(-6)} ${l}`))
    }
  } catch (err) {
    result.error = errorText(err)
  } finally {
    const crashed = crashedPeers(group, victim)
    if (crashed.length > 0) result.crashed = crashed
    if (victim !== undefined) {
      victim.kill('SIGCONT')
      victim.kill('SIGKILL')
      await Promise.race([victim.exited, sleep(5000)])
    }
    await stopPeers(group)
  }
  return result
}

function summarise(runs: DetectRun[], goalMs: number) {
  const polled = runs.flatMap((r) => (r.polledMs === null ? [] : [r.polledMs]))
  const logged = runs.flatMap((r) => (r.loggedMs === null ? [] : [r.loggedMs]))
  return {
    goalMs,
    runs: runs.length,
    detected: polled.length,
    polledP50Ms: round(median(polled), 0),
    polledMaxMs: round(max(polled), 0),
    loggedP50Ms: round(median(logged), 0),
    loggedMaxMs: round(max(logged), 0),
    failures: runs.filter((r) => r.error !== undefined).length,
  }
}

async function phaseDetect(signal: 'SIGKILL' | 'SIGSTOP', runs: number, goalMs: number) {
  const phase = signal === 'SIGKILL' ? 'kill' : 'cut'
  const memberRuns: DetectRun[] = []
  for (let run = 1; run <= runs; run++) {
    progress(`${phase}: ${signal} a member, run ${run}/${runs}`)
    memberRuns.push(await detection(signal, 'member', run))
  }
  progress(`${phase}: ${signal} the coordinator`)
  const coordinatorRun = await detection(signal, 'coordinator', 1)
  return {
    date: new Date().toISOString(),
    loadAverage: loadavg(),
    peers: P.peers,
    member: { ...summarise(memberRuns, goalMs), samples: memberRuns },
    coordinator: { ...summarise([coordinatorRun], goalMs), samples: [coordinatorRun] },
  }
}

// ---- 4./5. the bus ------------------------------------------------------------

/** One sender's part in a run: its id, how many it sends, the index of its last message. */
interface Flow {
  id: string
  count: number
  last: number
}

interface Delivery {
  /** every receiver has every message */
  complete: boolean
  /** messages delivered this run, summed over receivers (senders' own deliveries excluded) */
  delivered: number
  expected: number
  missing: number
  outOfOrder: number
  duplicates: number
  extra: number
  gapEvents: number
  gapsLost: number
  suspicions: number
  viewChanges: number
  retransmitRequests: number
  retransmitted: number
}

const NONE: Received = { first: 0, count: 0, last: 0, outOfOrder: 0, duplicates: 0 }

function delivery(before: readonly PeerReport[], after: readonly PeerReport[], flows: readonly Flow[]) {
  const d: Delivery = {
    complete: true,
    delivered: 0,
    expected: 0,
    missing: 0,
    outOfOrder: 0,
    duplicates: 0,
    extra: 0,
    gapEvents: 0,
    gapsLost: 0,
    suspicions: 0,
    viewChanges: 0,
    retransmitRequests: 0,
    retransmitted: 0,
  }
  after.forEach((a, i) => {
    const b = before[i] as PeerReport
    for (const f of flows) {
      if (f.id === a.id) continue
      const was = b.received[f.id] ?? NONE
      const now = a.received[f.id] ?? NONE
      const got = now.count - was.count
      d.expected += f.count
      d.delivered += Math.min(got, f.count)
      d.missing += Math.max(0, f.count - got)
      d.extra += Math.max(0, got - f.count)
      d.outOfOrder += now.outOfOrder - was.outOfOrder
      d.duplicates += now.duplicates - was.duplicates
      if (got < f.count || now.last !== f.last) d.complete = false
    }
    d.gapEvents += a.gaps.length - b.gaps.length
    d.gapsLost += a.counters.gapsLost - b.counters.gapsLost
    d.suspicions += a.counters.suspicions - b.counters.suspicions
    d.viewChanges += a.counters.viewChanges - b.counters.viewChanges
    d.retransmitRequests += a.counters.retransmitRequests - b.counters.retransmitRequests
    d.retransmitted += a.counters.retransmitted - b.counters.retransmitted
  })
  return d
}

function clean(d: Delivery): boolean {
  return (
    d.complete &&
    d.missing === 0 &&
    d.extra === 0 &&
    d.outOfOrder === 0 &&
    d.duplicates === 0 &&
    d.gapEvents === 0 &&
    d.gapsLost === 0 &&
    d.suspicions === 0 &&
    d.viewChanges === 0
  )
}

function problems(d: Delivery): string[] {
  const out: string[] = []
  if (d.missing > 0) out.push(`${d.missing} of ${d.expected} deliveries missing`)
  for (const key of [
    'extra',
    'outOfOrder',
    'duplicates',
    'gapEvents',
    'gapsLost',
    'suspicions',
    'viewChanges',
  ] as const)
    if (d[key] > 0) out.push(`${key} ${d[key]}`)
  return out
}

/** A running send: resolves with how long it took (ms since `t0`) once every message is published. */
function startSend(peer: MeshPeer, count: number, size: number, rate: number, stamp: boolean, t0: number) {
  return peer
    .request<{ sent: number }>(
      { op: 'send', to: { to: 'all' }, count, size, rate, stamp },
      (count / Math.max(rate, 1)) * 1000 * 4 + 120_000,
    )
    .then((r) => ({ sent: r.sent, ms: performance.now() - t0 }))
}

interface LatencyRun {
  size: number
  run: number
  cpu?: CpuShares
  senderId?: string
  rate: number
  senders: number
  warmupS: number
  runS: number
  samples: number
  p50Ms: number | null
  p90Ms: number | null
  p99Ms: number | null
  maxMs: number | null
  /** messages sent / time until the sender had published them all */
  achievedRate: number | null
  /** end of the send → every receiver has everything */
  drainMs: number | null
  delivery: Delivery | null
  ok: boolean
  rssMiB: number[]
  crashed?: PeerExit[]
  error?: string
  evidence?: string[]
}

async function latencyRun(size: number, run: number): Promise<{ result: LatencyRun; latencies: number[] }> {
  let latencies: number[] = []
  const group = new PeerGroup()
  const result: LatencyRun = {
    size,
    run,
    rate: P.latencyRate,
    senders: P.latencySenders,
    warmupS: P.latencyWarmupS,
    runS: P.latencyRunS,
    samples: 0,
    p50Ms: null,
    p90Ms: null,
    p99Ms: null,
    maxMs: null,
    achievedRate: null,
    drainMs: null,
    delivery: null,
    ok: false,
    rssMiB: [],
  }
  try {
    progress(`latency: ${size} B run ${run}/${P.latencyRuns}: starting ${P.peers} peers`)
    const { peers, reports: before } = await startPeers(group)
    const sender = peers[0] as MeshPeer
    const receivers = peers.slice(1)
    const count = P.latencyRate * (P.latencyWarmupS + P.latencyRunS)
    const flows: Flow[] = [{ id: (before[0] as PeerReport).id, count, last: count }]
    result.senderId = (before[0] as PeerReport).id
    const wall0 = Date.now()
    const mark = cpuMark()
    const t0 = performance.now()
    const sending = startSend(sender, count, size, P.latencyRate, true, t0)
    progress(`latency: ${size} B run ${run}/${P.latencyRuns}: warm-up ${P.latencyWarmupS} s`)
    await sleep(P.latencyWarmupS * 1000)
    await Promise.all(peers.map((p) => p.request({ op: 'latencies' })))
    progress(
      `latency: ${size} B run ${run}/${P.latencyRuns}: measuring ${P.latencyRunS} s at ${P.latencyRate} msgs/s`,
    )
    const sent = await sending
    result.achievedRate = round(count / (sent.ms / 1000), 0)
    const deadline = performance.now() + P.drainMs
    let after = await group.reports()
    let d = delivery(before, after, flows)
    while (!d.complete && performance.now() < deadline) {
      await sleep(P.deliveryPollMs)
      after = await group.reports()
      d = delivery(before, after, flows)
    }
    if (d.complete) result.drainMs = round(performance.now() - t0 - sent.ms, 0)
    result.delivery = d
    latencies = (await Promise.all(receivers.map((p) => p.request<number[]>({ op: 'latencies' })))).flat()
    result.samples = latencies.length
    result.p50Ms = round(quantile(latencies, 0.5), 2)
    result.p90Ms = round(quantile(latencies, 0.9), 2)
    result.p99Ms = round(quantile(latencies, 0.99), 2)
    result.maxMs = round(max(latencies), 2)
    result.rssMiB = after.map((r) => round(r.rss / 2 ** 20, 1) ?? 0)
    result.cpu = cpuSince(mark)
    result.ok = clean(d)
    if (!result.ok) {
      result.error = problems(d).join('; ') || 'incomplete'
      result.evidence = after.flatMap((r) => notable(r, wall0).map((l) => `${r.id.slice(-6)} ${l}`))
    }
  } catch (err) {
    result.error = errorText(err)
    result.ok = false
  } finally {
    const crashed = crashedPeers(group)
    if (crashed.length > 0) result.crashed = crashed
    progress(`latency: ${size} B run ${run}/${P.latencyRuns}: stopping`)
    await stopPeers(group)
  }
  return { result, latencies }
}

async function phaseLatency() {
  const perSize = []
  for (const size of P.sizes) {
    const runs: LatencyRun[] = []
    const pooled: number[] = []
    for (let run = 1; run <= P.latencyRuns; run++) {
      const { result, latencies } = await latencyRun(size, run)
      runs.push(result)
      for (const v of latencies) pooled.push(v)
    }
    const p99s = runs.flatMap((r) => (r.p99Ms === null ? [] : [r.p99Ms]))
    const sum = (f: (d: Delivery) => number) =>
      runs.reduce((a, r) => a + (r.delivery === null ? 0 : f(r.delivery)), 0)
    perSize.push({
      size,
      rate: P.latencyRate,
      senders: P.latencySenders,
      receivers: P.peers - P.latencySenders,
      samples: pooled.length,
      p50Ms: round(quantile(pooled, 0.5), 2),
      p90Ms: round(quantile(pooled, 0.9), 2),
      p99Ms: round(quantile(pooled, 0.99), 2),
      p999Ms: round(quantile(pooled, 0.999), 2),
      maxMs: round(max(pooled), 2),
      p99RangeMs: [round(Math.min(...p99s), 2), round(max(p99s), 2)],
      ok: runs.every((r) => r.ok),
      missing: sum((d) => d.missing),
      outOfOrder: sum((d) => d.outOfOrder),
      duplicates: sum((d) => d.duplicates),
      gapEvents: sum((d) => d.gapEvents),
      suspicions: sum((d) => d.suspicions),
      runs,
    })
  }
  return { date: new Date().toISOString(), loadAverage: loadavg(), peers: P.peers, perSize }
}

interface RateStep {
  offered: number
  perSender: number
  senderIds: string[]
  cpu?: CpuShares
  /** messages sent by all senders / time until the last sender had published all of its */
  achievedRate: number | null
  /** step start → every receiver has everything (null: never, within the drain time) */
  doneMs: number | null
  /** distinct messages / doneMs */
  deliveredRate: number | null
  deliveredMBps: number | null
  /** deliveries summed over receivers / doneMs */
  fanOutRate: number | null
  delivery: Delivery | null
  pass: boolean
  why?: string
  rssMiB: number[]
  evidence?: string[]
}

/** One step of the ladder in `group`: `offered` msgs/s in all, split over `senders`, for rateStepS. */
async function rateStep(
  group: PeerGroup,
  senders: readonly MeshPeer[],
  sentSoFar: Map<MeshPeer, number>,
  size: number,
  offered: number,
): Promise<RateStep> {
  const senderCount = senders.length
  const perSender = Math.round((offered / senderCount) * P.rateStepS)
  const rate = offered / senderCount
  const before = await group.reports()
  const flows: Flow[] = senders.map((s) => {
    const last = (sentSoFar.get(s) ?? 0) + perSender
    sentSoFar.set(s, last)
    return { id: (before[group.peers.indexOf(s)] as PeerReport).id, count: perSender, last }
  })
  const step: RateStep = {
    offered,
    perSender,
    senderIds: flows.map((f) => f.id),
    achievedRate: null,
    doneMs: null,
    deliveredRate: null,
    deliveredMBps: null,
    fanOutRate: null,
    delivery: null,
    pass: false,
    rssMiB: [],
  }
  const wall0 = Date.now()
  const mark = cpuMark()
  const t0 = performance.now()
  const passBy = P.rateStepS * 1000 + P.rateSlackMs
  const sends: { ms: number | null; error: string | null } = { ms: null, error: null }
  const sending = Promise.all(senders.map((s) => startSend(s, perSender, size, rate, false, t0))).then(
    (rs) => {
      sends.ms = max(rs.map((r) => r.ms))
    },
    (err: unknown) => {
      sends.error = errorText(err)
    },
  )
  let after = before
  let d = delivery(before, after, flows)
  for (;;) {
    await sleep(P.deliveryPollMs)
    after = await group.reports()
    d = delivery(before, after, flows)
    const now = performance.now() - t0
    if (d.complete) {
      step.doneMs = round(now, 0)
      break
    }
    if (sends.error !== null) break
    // past the pass deadline: keep watching only to tell "slow" from "lost"
    if (now > passBy && sends.ms !== null && now > sends.ms + P.drainMs) break
    if (now > passBy + 4 * P.rateStepS * 1000 + 120_000) break
  }
  if (sends.error === null) {
    await sending
    if (sends.ms !== null) step.achievedRate = round((perSender * senderCount) / (sends.ms / 1000), 0)
  }
  step.delivery = d
  step.cpu = cpuSince(mark)
  step.rssMiB = after.map((r) => round(r.rss / 2 ** 20, 1) ?? 0)
  if (step.doneMs !== null) {
    const s = step.doneMs / 1000
    step.deliveredRate = round((perSender * senderCount) / s, 0)
    step.deliveredMBps = round((perSender * senderCount * size) / s / 1e6, 2)
    step.fanOutRate = round(d.delivered / s, 0)
  }
  const why = [
    ...(sends.error === null ? [] : [`send failed: ${sends.error}`]),
    ...problems(d),
    ...(d.complete && step.doneMs !== null && step.doneMs > passBy
      ? [`delivery took ${fmt(step.doneMs)} ms (> ${fmt(passBy)} ms: not sustained)`]
      : []),
    ...(!d.complete && d.missing === 0 ? ['incomplete'] : []),
    ...(step.achievedRate !== null && step.achievedRate < P.rateMinAchieved * offered
      ? [`senders achieved ${fmt(step.achievedRate)} msgs/s (< ${P.rateMinAchieved * 100} % of offered)`]
      : []),
  ]
  step.pass = why.length === 0 && clean(d)
  if (!step.pass) {
    step.why = why.join('; ')
    step.evidence = after.flatMap((r) => notable(r, wall0).map((l) => `${r.id.slice(-6)} ${l}`))
  }
  return step
}

/**
 * The ladder for one payload size and sender count. A failed step does not
 * end it: the next runs in a fresh group, and it ends after
 * rateStopAfterFailures failed steps in a row (so one false suspicion at a
 * low rate is reported without hiding what the bus sustains above it).
 */
async function rateSeries(size: number, senderCount: number) {
  const steps: RateStep[] = []
  const label = `rate: ${size} B from ${senderCount} sender${senderCount === 1 ? '' : 's'}`
  const errors: string[] = []
  let endRssMiB: number[] = []
  let group: PeerGroup | null = null
  let senders: MeshPeer[] = []
  let sentSoFar = new Map<MeshPeer, number>()
  let failedInARow = 0
  try {
    for (const offered of P.rateSteps) {
      if (failedInARow >= P.rateStopAfterFailures) break
      try {
        if (group === null) {
          progress(`${label}: starting ${P.peers} peers`)
          group = new PeerGroup()
          senders = (await startPeers(group)).peers.slice(0, senderCount)
          sentSoFar = new Map()
        }
        progress(`${label}: ${fmt(offered)} msgs/s for ${P.rateStepS} s`)
        const step = await rateStep(group, senders, sentSoFar, size, offered)
        steps.push(step)
        endRssMiB = step.rssMiB
        failedInARow = step.pass ? 0 : failedInARow + 1
      } catch (err) {
        const crashed = group === null ? [] : crashedPeers(group)
        errors.push(
          `${fmt(offered)} msgs/s: ${errorText(err)}${
            crashed.length === 0 ? '' : `; peer process(es) ended by themselves: ${JSON.stringify(crashed)}`
          }`,
        )
        failedInARow++
      }
      if (failedInARow > 0 && group !== null) {
        progress(`${label}: stopping the group after a failed step`)
        await stopPeers(group)
        group = null
      }
    }
  } finally {
    progress(`${label}: stopping`)
    if (group !== null) await stopPeers(group)
  }
  const passed = steps.filter((s) => s.pass)
  const best = passed[passed.length - 1] ?? null
  return {
    size,
    senders: senderCount,
    highestPassingOffered: best?.offered ?? null,
    best,
    failures: steps.filter((s) => !s.pass),
    ladderExhausted: steps.length === P.rateSteps.length && steps.every((s) => s.pass),
    endRssMiB,
    steps,
    errors,
  }
}

async function phaseRate() {
  const series = []
  for (const size of P.sizes)
    for (const senders of P.rateSenders) series.push(await rateSeries(size, senders))
  return {
    date: new Date().toISOString(),
    loadAverage: loadavg(),
    peers: P.peers,
    stepS: P.rateStepS,
    slackMs: P.rateSlackMs,
    series,
  }
}

// ---- run ----------------------------------------------------------------------------

// Ctrl-C: exit through process.exit so the launchers' exit hooks SIGKILL every child (stopped ones too).
process.once('SIGINT', () => {
  progressDone()
  console.error('interrupted: killing every peer and node')
  process.exit(130)
})

const started = performance.now()
const phases: Record<string, unknown> = {}
const phaseErrors: Record<string, string> = {}
const cpuDuring: Record<string, CpuShares> = {}
for (const phase of selected) {
  const mark = cpuMark()
  try {
    if (phase === 'views') phases.views = await phaseViews()
    else if (phase === 'kill') phases.kill = await phaseDetect('SIGKILL', P.killRuns, P.killGoalMs)
    else if (phase === 'cut') phases.cut = await phaseDetect('SIGSTOP', P.cutRuns, P.cutGoalMs)
    else if (phase === 'latency') phases.latency = await phaseLatency()
    else phases.rate = await phaseRate()
  } catch (err) {
    phaseErrors[phase] = errorText(err)
    phases[phase] = { date: new Date().toISOString(), error: errorText(err) }
    process.exitCode = 1
  }
  cpuDuring[phase] = cpuSince(mark)
  ;(phases[phase] as Record<string, unknown>).cpu = cpuDuring[phase]
}
progressDone()
const durationS = round((performance.now() - started) / 1000, 1)

// ---- table ----------------------------------------------------------------------------

const rows: Row[] = []
const verdict = (ok: boolean) => (ok ? 'ok' : 'FAIL')

const views = phases.views as Awaited<ReturnType<typeof phaseViews>> | undefined
if (views?.perN !== undefined)
  for (const v of views.perN) {
    const failed = v.runs.filter((r) => r.error !== undefined)
    rows.push([
      `time to one view, ${v.n} daemons (ms, median / max of ${v.runs.length})`,
      `${fmt(v.msMedian)} / ${fmt(v.msMax)}`,
      '',
      failed.length === 0 ? 'ok' : `FAIL ${failed.length}/${v.runs.length}`,
    ])
    const goal = v.n <= 10 ? 1000 : 2000
    rows.push([
      `  after the last node was up (mesh listening) (ms, median / max)`,
      `${fmt(v.afterLastUpMsMedian)} / ${fmt(v.afterLastUpMsMax)}`,
      `<= ${fmt(goal)}`,
      v.afterLastUpMsMax !== null && v.afterLastUpMsMax <= goal ? 'ok' : 'MISSED',
    ])
    const trouble = v.runs.map((r) => r.logs?.seedTroubleNodes ?? 0)
    const suspicions = v.runs.map((r) => r.logs?.suspicions ?? 0)
    if (max(trouble) > 0 || max(suspicions) > 0)
      rows.push([
        `  nodes that could not reach the seed at first / suspicions logged (per run)`,
        `${trouble.join(', ')} / ${suspicions.join(', ')}`,
        '',
        'see JSON logs',
      ])
    rows.push([
      `idle RSS per daemon, ${v.n} daemons (MiB, median / max)`,
      `${fmt(v.rssMedianMiB, 1)} / ${fmt(v.rssMaxMiB, 1)}`,
      '',
      '',
    ])
    rows.push([
      `idle CPU per daemon, ${v.n} daemons (% of a core, median / max)`,
      `${fmt(v.idleCpuPctMedian, 2)} / ${fmt(v.idleCpuPctMax, 2)}`,
      '',
      '',
    ])
  }

for (const [key, signal] of [
  ['kill', 'SIGKILL'],
  ['cut', 'SIGSTOP'],
] as const) {
  const r = phases[key] as Awaited<ReturnType<typeof phaseDetect>> | undefined
  if (r?.member === undefined) continue
  for (const [who, s] of [
    ['a member', r.member],
    ['the coordinator', r.coordinator],
  ] as const) {
    const ok = s.failures === 0 && s.detected === s.runs && (s.loggedMaxMs ?? Infinity) <= s.goalMs
    rows.push([
      `${signal} ${who} → gone from every view (ms, p50 / max of ${s.runs}; from logs)`,
      s.runs === 1 ? fmt(s.loggedMaxMs) : `${fmt(s.loggedP50Ms)} / ${fmt(s.loggedMaxMs)}`,
      `≤ ${fmt(s.goalMs)}`,
      verdict(ok),
    ])
    rows.push([
      `  same, polled every ${P.detectPollMs} ms over IPC`,
      s.runs === 1 ? fmt(s.polledMaxMs) : `${fmt(s.polledP50Ms)} / ${fmt(s.polledMaxMs)}`,
      '',
      s.failures === 0 ? '' : `${s.failures} run(s) with problems`,
    ])
  }
}

const latency = phases.latency as Awaited<ReturnType<typeof phaseLatency>> | undefined
if (latency?.perSize !== undefined)
  for (const r of latency.perSize) {
    const failed = r.runs.filter((x) => !x.ok)
    rows.push([
      `bus latency, ${fmt(r.rate)} msgs/s from 1 sender to ${r.receivers}, ${r.size} B (ms, p50 / p99 / max; ${r.runs.length} × ${P.latencyRunS} s)`,
      `${fmt(r.p50Ms, 2)} / ${fmt(r.p99Ms, 2)} / ${fmt(r.maxMs, 2)}`,
      '',
      failed.length === 0 ? 'ok' : `FAIL ${failed.length}/${r.runs.length}`,
    ])
    rows.push([
      `  p99 of each run (ms, lowest / highest)`,
      `${fmt(r.p99RangeMs[0], 2)} / ${fmt(r.p99RangeMs[1], 2)}`,
      '',
      othersNote(r.runs.map((x) => x.cpu)),
    ])
    rows.push([
      `  lost / reordered / duplicated / gap events / suspicions (${fmt(r.samples)} samples)`,
      `${r.missing} / ${r.outOfOrder} / ${r.duplicates} / ${r.gapEvents} / ${r.suspicions}`,
      '0 / 0 / 0 / 0 / 0',
      failed.map((x) => `run ${x.run}: ${x.error}`).join('; '),
    ])
  }

const rate = phases.rate as Awaited<ReturnType<typeof phaseRate>> | undefined
if (rate?.series !== undefined)
  for (const s of rate.series) {
    const b = s.best
    const senders = `${s.senders} sender${s.senders === 1 ? '' : 's'}`
    const below = s.failures.filter((f) => b !== null && f.offered < b.offered)
    rows.push([
      `highest zero-loss rate, ${s.size} B, ${senders} (offered msgs/s; achieved; delivered)`,
      b === null
        ? 'none passed'
        : `${fmt(b.offered)}${s.ladderExhausted ? '+' : ''}; ${fmt(b.achievedRate)}; ${fmt(b.deliveredRate)} msgs/s = ${fmt(b.deliveredMBps, 2)} MB/s`,
      '',
      b === null || below.length > 0 || s.errors.length > 0 ? 'FAIL' : 'ok',
    ])
    for (const f of s.failures)
      rows.push([
        `  failed at ${fmt(f.offered)} msgs/s (achieved ${fmt(f.achievedRate)})`,
        f.why ?? '',
        '',
        [f.offered < (b?.offered ?? Infinity) ? 'below the best' : '', othersNote([f.cpu])]
          .filter(Boolean)
          .join('; '),
      ])
    for (const e of s.errors) rows.push(['  error', e, '', 'FAIL'])
    rows.push([
      `  peer RSS at the end (MiB, median / max)`,
      `${fmt(median(s.endRssMiB), 1)} / ${fmt(max(s.endRssMiB), 1)}`,
      '',
      '',
    ])
  }

for (const [phase, err] of Object.entries(phaseErrors)) rows.push([`${phase}: phase failed`, err, '', 'FAIL'])

printTable(rows)
console.log(
  `machine CPU per phase (% busy / % used by processes outside this benchmark / % stolen): ${Object.entries(
    cpuDuring,
  )
    .map(([phase, c]) => `${phase} ${fmt(c.busyPct)} / ${fmt(c.foreignPct, 1)} / ${fmt(c.stealPct, 1)}`)
    .join(', ')}`,
)
console.log(
  `${QUICK ? 'quick run' : 'run'} took ${fmt(durationS)} s on ${cpus().length} CPUs, Node ${process.version}`,
)

// ---- results file ---------------------------------------------------------------------

const out = option('out') ?? join(import.meta.dirname, 'results', QUICK ? 'mesh-quick.json' : 'mesh.json')
const meshDefaults = Object.fromEntries(
  Object.entries(meshOptions).filter(([k, v]) => k.startsWith('DEFAULT_') && typeof v === 'number'),
)
writeResults(
  out,
  {
    command: `node bench/mesh.ts ${argv.join(' ')}`.trim(),
    quick: QUICK,
    lastRun: { phases: selected, durationS },
    parameters: { ...P, daemonArgs: LOG_ARGS, meshDefaults },
    phases,
  },
  !QUICK && selected.length < PHASES.length,
)
console.log(`written ${out}`)
