// Phase 2, failover: a player kept on an edge while the origin it pulls from
// is SIGKILLed and a second origin has the stream; how long the pictures stop
// and what the player is told.
import { loadavg } from 'node:os'
import { type CpuShares, cpuMark, cpuSince, errorText, progress, sleep } from '../../lib.ts'
import { type DecoderReport, FfmpegPlayer } from '../decoder.ts'
import { type Params, STREAM_APP } from '../params.ts'
import { RtmpProbe } from '../probe.ts'
import { Rig } from '../rig.ts'
import type { FailoverDeployment, Setup, System, SystemName } from '../system.ts'
import { type KeptPlayer, type KeptSummary, keptPlayer, keptSummary, type Skipped } from './kept-player.ts'

export interface FailoverRun {
  system: SystemName
  run: number
  kept: KeptPlayer | null
  /** an ffmpeg decoding the same edge stream, from the kill on */
  decoder: DecoderReport | null
  /** the edge pulled from the other origin afterwards */
  switched: boolean | null
  /** meshcast: the edge's log about its pull; nginx: whether it connected to the other origin, and its error.log */
  evidence?: string[]
  cpu?: CpuShares
  error?: string
}

export type FailoverSummary = { runs: FailoverRun[] } & KeptSummary & { switched: number }

export interface FailoverPhase {
  date: string
  loadAverage: number[]
  meshcast: FailoverSummary | Skipped
  nginx: FailoverSummary | Skipped
  nodeMediaServer: FailoverSummary | Skipped
}

async function failoverRun(
  P: Params,
  system: SystemName,
  setup: Setup<FailoverDeployment>,
  run: number,
  runs: number,
): Promise<FailoverRun> {
  const path = `/${STREAM_APP}/twice`
  const result: FailoverRun = { system, run, kept: null, decoder: null, switched: null }
  const rig = new Rig()
  let probe: RtmpProbe | null = null
  let decoder: FfmpegPlayer | null = null
  try {
    const label = `failover: ${system} run ${run}/${runs}`
    progress(`${label}: starting ${setup.layout}`)
    const d = await setup.deploy(rig, path)
    probe = new RtmpProbe(d.edge.rtmp(path), true).start()
    decoder = await FfmpegPlayer.start(d.edge.rtmp(path))
    if ((await probe.firstKey(15_000)) === null) throw new Error(`no keyframe at the edge: ${probe.error}`)
    progress(`${label}: playing`)
    const steadyFrom = performance.now()
    await sleep(P.steadyMs)
    const serving = await d.serving()
    const wall = Date.now()
    const mark = cpuMark()
    const killedAt = performance.now()
    serving.kill()
    progress(`${label}: SIGKILLed ${serving.name}; watching`)
    await d.watch(killedAt, P.watchMs)
    result.cpu = cpuSince(mark)
    result.kept = keptPlayer(probe, killedAt, steadyFrom, performance.now())
    await decoder.stop()
    result.decoder = decoder.report(killedAt)
    const { switched, evidence } = await d.outcome(wall - 100)
    result.switched = switched
    result.evidence = evidence
  } catch (err) {
    result.error = errorText(err)
  } finally {
    probe?.close()
    await decoder?.stop()
    await rig.stop()
  }
  return result
}

async function failoverOf(P: Params, system: System, runs: number): Promise<FailoverSummary | Skipped> {
  const setup = system.failover
  if ('skipped' in setup) return { skipped: setup.skipped }
  const missing = system.missing()
  if (missing !== null) return { skipped: missing }
  const results: FailoverRun[] = []
  for (let run = 1; run <= runs; run++) results.push(await failoverRun(P, system.name, setup, run, runs))
  return {
    runs: results,
    ...keptSummary(results),
    switched: results.filter((r) => r.switched === true).length,
  }
}

/** nginx-rtmp's failover is only there for comparison: fewer runs. */
export async function phaseFailover(
  P: Params,
  systems: { meshcast: System; nginx: System; nms: System },
): Promise<FailoverPhase> {
  const meshcast = await failoverOf(P, systems.meshcast, P.failoverRuns)
  const nginx = await failoverOf(P, systems.nginx, P.nginxFailoverRuns)
  const nodeMediaServer = await failoverOf(P, systems.nms, 0)
  return { date: new Date().toISOString(), loadAverage: loadavg(), meshcast, nginx, nodeMediaServer }
}
