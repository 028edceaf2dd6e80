// Phase 6, players: an edge serving many RTMP players, side by side with
// nginx-rtmp's edge. At each step of a ladder, N - PROBES sink players (worker
// processes that only count and acknowledge) and PROBES timing probes play
// the edge's stream; over a window: the edge's CPU and RSS, and how late the
// probes' frames came against the stream's own clock. A step where a probe
// saw a frame later than the bound, or a sink fell behind the stream, ends
// the ladder: the step before is the most players served on time.
import { loadavg } from 'node:os'
import { max, progress, round, sleep } from '../../lib.ts'
import type { Params } from '../params.ts'
import { RtmpProbe } from '../probe.ts'
import { Rig } from '../rig.ts'
import { Sinks } from '../sinks.ts'
import type { System, SystemName } from '../system.ts'
import { eachSystem } from './each-system.ts'
import { measureWindow, type Window } from './window.ts'

/** probes among the players: they time frames (the sinks do not parse) */
const PROBES = 4

export interface PlayersStep {
  players: number
  playing: number
  cut: number
  /** the worst probe's latest frame against the stream's clock, ms (0: every frame as early as the earliest) */
  lateMs: number | null
  /** the slowest sink's bytes a second over the window, against the probes' */
  sinkMinKBps: number | null
  probeKBps: number | null
  window: Window
  onTime: boolean
}

export interface PlayersResult {
  system: SystemName
  relaying: Window
  steps: PlayersStep[]
  /** (CPU at N - CPU relaying with no player) / N, % of a core; RSS the same, KiB; marginal: against the step before */
  perPlayer: {
    players: number
    cpuPct: number | null
    rssKiB: number | null
    marginalCpuPct: number | null
    marginalRssKiB: number | null
  }[]
  /** the largest step every player was served on time */
  mostOnTime: number | null
}

export interface PlayersPhase {
  date: string
  loadAverage: number[]
  ladder: number[]
  lateBoundMs: number
  results: PlayersResult[]
  errors: Record<string, string>
  skipped: Record<string, string>
}

/** How late a probe's frames came: arrival - dts, above the earliest such offset (the path's own latency). */
function lateness(p: RtmpProbe, since: number): number | null {
  const frames = p.frames.filter((f) => f.at >= since)
  if (frames.length === 0) return null
  const offsets = frames.map((f) => f.at - f.dts)
  return Math.max(...offsets) - Math.min(...offsets)
}

async function playersSeries(P: Params, system: System): Promise<PlayersResult> {
  const path = '/live/players'
  const label = `players: ${system.name}`
  progress(`${label}: starting ${system.load.layout}`)
  const rig = new Rig()
  let sinks: Sinks | null = null
  let probes: RtmpProbe[] = []
  try {
    const d = await system.load.deploy(rig, path)
    const { playUrl } = await d.publish()
    await sleep(P.warmupMs)
    progress(`${label}: relaying, no player, for ${P.idleWindowS} s`)
    const relaying = await measureWindow(d.pids, P.idleWindowS)
    const steps: PlayersStep[] = []
    for (const n of P.playersLadder) {
      progress(`${label}: starting ${n} players`)
      sinks = new Sinks(playUrl, n - PROBES)
      probes = Array.from({ length: PROBES }, () => new RtmpProbe(playUrl, true).start())
      await Promise.all(probes.map((p) => p.firstKey(30_000)))
      await sleep(2000)
      progress(`${label}: ${n} players for ${P.playersWindowS} s`)
      const since = performance.now()
      const before = await sinks.report()
      const probeBytes = probes.map((p) => p.receivedBytes)
      const window = await measureWindow(d.pids, P.playersWindowS)
      const after = await sinks.report()
      const lates = probes.map((p) => lateness(p, since))
      const probeKBps = probes.map((p, i) => (p.receivedBytes - (probeBytes[i] ?? 0)) / 1024 / window.seconds)
      const lateMs = lates.some((l) => l === null) ? null : max(lates as number[])
      const playing = after.playing + probes.filter((p) => p.closedAt === null).length
      // the slowest sink over the window (one that closed took nothing since)
      const sinkMin =
        after.bytes.length === 0
          ? null
          : Math.min(...after.bytes.map((b, i) => b - (before.bytes[i] ?? 0))) / 1024 / window.seconds
      const probeMean = probeKBps.reduce((a, b) => a + b, 0) / PROBES
      steps.push({
        players: n,
        playing,
        cut: n - playing,
        lateMs: round(lateMs, 0),
        sinkMinKBps: round(sinkMin, 1),
        probeKBps: round(probeMean, 1),
        window,
        // every player plays, no probe frame late, the sinks take what the probes take
        onTime:
          playing === n &&
          before.closed === 0 &&
          lateMs !== null &&
          lateMs <= P.goals.lateBoundMs &&
          sinkMin !== null &&
          sinkMin >= 0.9 * probeMean,
      })
      sinks.stop()
      sinks = null
      for (const p of probes) p.close()
      probes = []
      await sleep(2000)
      if (!steps.at(-1)?.onTime) break
    }
    const edgeCpu = (w: Window) => w.cpuPct.edge ?? null
    const edgeRss = (w: Window) => w.rssMiB.edge ?? null
    const perPlayer = steps.map((s, i) => {
      const c = edgeCpu(s.window)
      const c0 = edgeCpu(relaying)
      const r = edgeRss(s.window)
      const r0 = edgeRss(relaying)
      // against the step before: what one more player costs once some play (start-up memory and
      // a stream's first player, which makes its RTMP form, left out)
      const prev = steps[i - 1]
      const pc = prev === undefined ? null : edgeCpu(prev.window)
      const pr = prev === undefined ? null : edgeRss(prev.window)
      const k = prev === undefined ? 0 : s.players - prev.players
      return {
        players: s.players,
        cpuPct: c === null || c0 === null ? null : round((c - c0) / s.players, 4),
        rssKiB: r === null || r0 === null ? null : round(((r - r0) * 1024) / s.players, 1),
        marginalCpuPct: c === null || pc === null || k <= 0 ? null : round((c - pc) / k, 4),
        marginalRssKiB: r === null || pr === null || k <= 0 ? null : round(((r - pr) * 1024) / k, 1),
      }
    })
    const onTime = steps.filter((s) => s.onTime).map((s) => s.players)
    return {
      system: system.name,
      relaying,
      steps,
      perPlayer,
      mostOnTime: onTime.length === 0 ? null : Math.max(...onTime),
    }
  } finally {
    progress(`${label}: stopping`)
    sinks?.stop()
    for (const p of probes) p.close()
    await rig.stop()
  }
}

export async function phasePlayers(P: Params, systems: readonly System[]): Promise<PlayersPhase> {
  const bySystem = await eachSystem(
    systems,
    (system) => playersSeries(P, system),
    (system) =>
      system.name === 'node-media-server' ? 'its relay edge gives players no decodable stream' : null,
  )
  return {
    date: new Date().toISOString(),
    loadAverage: loadavg(),
    ladder: P.playersLadder,
    lateBoundMs: P.goals.lateBoundMs,
    ...bySystem,
  }
}
