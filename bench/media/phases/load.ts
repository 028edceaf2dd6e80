// Phase 4, load: an edge's CPU and RSS idle (nothing published), relaying one
// stream with no player, then at 1, 10 and 50 players, each step measured over
// a window once every player plays.
import { loadavg } from 'node:os'
import { median, min, progress, round, sleep } from '../../lib.ts'
import { type Params, STREAM_APP } from '../params.ts'
import { RtmpProbe } from '../probe.ts'
import { Rig } from '../rig.ts'
import type { System, SystemName } from '../system.ts'
import { eachSystem } from './each-system.ts'
import { measureWindow, type Window } from './window.ts'

export interface LoadStep {
  players: number
  /** players that got a first keyframe */
  playing: number
  decodable: number
  /** video frames a second per player over the window */
  fpsMin: number | null
  fpsMedian: number | null
  disconnected: number
  window: Window
}

export interface LoadResult {
  system: SystemName
  /** where the players played (node-media-server: the origin when its relay edge gave no decodable stream) */
  playersOn: 'edge' | 'origin'
  note: string
  playUrl: string
  idle: Window
  relaying: Window
  steps: LoadStep[]
  /** the serving process: idle, relaying (no player), then each step */
  servingCpuPct: (number | null)[]
  servingRssMiB: (number | null)[]
  perRelayedStream: { cpuPct: number | null; rssMiB: number | null }
  /** (value at N players - value at the first step) / (N - its players) */
  perSubscriber: { players: number; cpuPct: number | null; rssMiB: number | null }[]
}

export interface LoadPhase {
  date: string
  loadAverage: number[]
  players: number[]
  results: LoadResult[]
  errors: Record<string, string>
  skipped: Record<string, string>
}

async function loadSeries(P: Params, system: System): Promise<LoadResult> {
  const path = `/${STREAM_APP}/load`
  const label = `load: ${system.name}`
  progress(`${label}: starting ${system.load.layout}`)
  const rig = new Rig()
  const d = await system.load.deploy(rig, path).catch(async (err: unknown) => {
    await rig.stop()
    throw err
  })
  const readers: RtmpProbe[] = []
  try {
    await sleep(P.warmupMs)
    progress(`${label}: idle for ${P.idleWindowS} s`)
    const idle = await measureWindow(d.pids, P.idleWindowS)
    const { playersOn, playUrl, note } = await d.publish()
    await sleep(P.warmupMs)
    progress(`${label}: relaying one stream, no player, for ${P.idleWindowS} s`)
    const relaying = await measureWindow(d.pids, P.idleWindowS)
    const steps: LoadStep[] = []
    for (const n of P.loadPlayers) {
      progress(`${label}: starting ${n} player${n === 1 ? '' : 's'}`)
      for (let i = 0; i < n; i++) readers.push(new RtmpProbe(playUrl).start())
      await Promise.all(readers.map((r) => r.firstKey(20_000)))
      await sleep(2000)
      const frames = readers.map((r) => r.videoFrames)
      progress(`${label}: ${n} player${n === 1 ? '' : 's'} for ${P.loadWindowS} s`)
      const window = await measureWindow(d.pids, P.loadWindowS)
      const fps = readers.map((r, i) => (r.videoFrames - (frames[i] ?? 0)) / window.seconds)
      steps.push({
        players: n,
        playing: readers.filter((r) => r.firstKeyAt !== null).length,
        decodable: readers.filter((r) => r.firstKeyDecodable).length,
        fpsMin: round(min(fps), 1),
        fpsMedian: round(median(fps), 1),
        disconnected: readers.filter((r) => r.closedAt !== null).length,
        window,
      })
      for (const r of readers.splice(0)) r.close()
      await sleep(1500)
    }
    /** the process serving the players */
    const of = (w: Window) => ({ cpu: w.cpuPct[playersOn] ?? null, rss: w.rssMiB[playersOn] ?? null })
    const diff = (a: number | null, b: number | null, k: number, digits: number) =>
      a === null || b === null ? null : round((a - b) / k, digits)
    const first = steps[0]
    const perSubscriber = steps.slice(1).map((s) => {
      const k = s.players - (first?.players ?? 1)
      const a = of(s.window)
      const b = first === undefined ? { cpu: null, rss: null } : of(first.window)
      return { players: s.players, cpuPct: diff(a.cpu, b.cpu, k, 3), rssMiB: diff(a.rss, b.rss, k, 3) }
    })
    // the relay lives in the edge process, wherever the players are
    const edgeOf = (w: Window) => ({ cpu: w.cpuPct.edge ?? null, rss: w.rssMiB.edge ?? null })
    const windows = [idle, relaying, ...steps.map((s) => s.window)]
    return {
      system: system.name,
      playersOn,
      note,
      playUrl,
      idle,
      relaying,
      steps,
      servingCpuPct: windows.map((w) => of(w).cpu),
      servingRssMiB: windows.map((w) => of(w).rss),
      perRelayedStream: {
        cpuPct: diff(edgeOf(relaying).cpu, edgeOf(idle).cpu, 1, 2),
        rssMiB: diff(edgeOf(relaying).rss, edgeOf(idle).rss, 1, 1),
      },
      perSubscriber,
    }
  } finally {
    progress(`${label}: stopping`)
    for (const r of readers) r.close()
    await rig.stop()
  }
}

export async function phaseLoad(P: Params, systems: readonly System[]): Promise<LoadPhase> {
  const bySystem = await eachSystem(systems, (system) => loadSeries(P, system))
  return { date: new Date().toISOString(), loadAverage: loadavg(), players: P.loadPlayers, ...bySystem }
}
