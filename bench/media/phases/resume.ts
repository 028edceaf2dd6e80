// Phase 3, resume: the only origin dies with its publisher and comes back;
// once the stream is republished, how long until a player kept on the edge
// (and a player waiting on the origin) sees pictures again.
import { loadavg } from 'node:os'
import { waitFor } from '@meshcast/testing'
import {
  type CpuShares,
  cpuMark,
  cpuSince,
  errorText,
  max,
  median,
  nums,
  progress,
  round,
  sleep,
} from '../../lib.ts'
import { type DecoderReport, FfmpegPlayer } from '../decoder.ts'
import { type Params, STREAM_APP } from '../params.ts'
import { RtmpProbe } from '../probe.ts'
import { Rig } from '../rig.ts'
import type { System, SystemName } from '../system.ts'
import { type KeptPlayer, type KeptSummary, keptPlayer, keptSummary, type Skipped } from './kept-player.ts'

export interface ResumeRun {
  system: SystemName
  run: number
  /** restart → the origin accepts RTMP (meshcast: /api/status ready; eager: its RTMP port accepts) */
  restartMs: number | null
  /** republish (ffmpeg spawn) → first video frame at the player kept on the edge */
  edgeMs: number | null
  /** republish → first keyframe at a player waiting on the origin (ffmpeg start-up included) */
  originMs: number | null
  /** edgeMs - originMs */
  edgeDelayMs: number | null
  kept: KeptPlayer | null
  /** an ffmpeg decoding the same edge stream, from the kill on */
  decoder: DecoderReport | null
  /** meshcast: restart → the edge shows one view of 2 again */
  viewMs?: number | null
  evidence?: string[]
  cpu?: CpuShares
  error?: string
}

export type ResumeSummary = { setup: string; runs: ResumeRun[] } & KeptSummary & {
    edgeMedianMs: number | null
    edgeMaxMs: number | null
    /** runs where the kept player saw a frame again */
    resumed: number
    originMedianMs: number | null
    edgeDelayMedianMs: number | null
    viewMedianMs: number | null
  }

export interface ResumePhase {
  date: string
  loadAverage: number[]
  meshcast: ResumeSummary | Skipped
  meshcastEager: ResumeSummary | Skipped
  nginx: ResumeSummary | Skipped
  nodeMediaServer: ResumeSummary | Skipped
}

async function resumeRun(P: Params, system: System, eager: boolean, run: number): Promise<ResumeRun> {
  const path = `/${STREAM_APP}/back`
  const result: ResumeRun = {
    system: system.name,
    run,
    restartMs: null,
    edgeMs: null,
    originMs: null,
    edgeDelayMs: null,
    kept: null,
    decoder: null,
  }
  const label = `resume: ${system.name}${eager ? ' (eager republish)' : ''} run ${run}/${P.resumeRuns}`
  const rig = new Rig()
  let probe: RtmpProbe | null = null
  let originProbe: RtmpProbe | null = null
  let decoder: FfmpegPlayer | null = null
  try {
    progress(`${label}: starting ${system.resume.layout}`)
    const d = await system.resume.deploy(rig, path, { eager })
    probe = new RtmpProbe(d.edge.rtmp(path), true).start()
    decoder = await FfmpegPlayer.start(d.edge.rtmp(path))
    if ((await probe.firstKey(20_000)) === null) throw new Error(`no keyframe at the edge: ${probe.error}`)
    progress(`${label}: playing`)
    const steadyFrom = performance.now()
    await sleep(2000)
    const wall = Date.now()
    const killedAt = performance.now()
    d.kill()
    progress(`${label}: origin and publisher SIGKILLed; waiting ${P.downMs} ms`)
    await sleep(P.downMs)
    const restartAt = performance.now()
    await d.restart()
    result.restartMs = round(performance.now() - restartAt, 0)
    await d.rejoined()
    if (d.waitsForView) result.viewMs = round(performance.now() - restartAt, 0)
    originProbe = new RtmpProbe(d.origin.rtmp(path)).start()
    await sleep(300) // the origin player is waiting before the publish
    const mark = cpuMark()
    const republishAt = performance.now()
    await d.republish()
    progress(`${label}: republished; waiting for a frame at the kept player`)
    const kept = probe
    const resumed = await waitFor(() => kept.frames.find((f) => f.at > republishAt), {
      timeout: P.resumeWatchMs,
      interval: 10,
      what: 'a frame at the kept edge player after the republish',
    }).catch(() => null)
    await originProbe.firstKey(5000)
    result.cpu = cpuSince(mark)
    result.edgeMs = round(resumed === null ? null : resumed.at - republishAt, 0)
    result.originMs = round(originProbe.firstKeyAt === null ? null : originProbe.firstKeyAt - republishAt, 0)
    result.edgeDelayMs =
      result.edgeMs === null || result.originMs === null ? null : result.edgeMs - result.originMs
    await sleep(1000)
    result.kept = keptPlayer(probe, killedAt, steadyFrom, performance.now())
    await decoder.stop()
    result.decoder = decoder.report(killedAt)
    result.evidence = d.evidence(wall - 100)
    if (resumed === null) result.error = `no frame at the kept edge player within ${P.resumeWatchMs} ms`
  } catch (err) {
    result.error = errorText(err)
  } finally {
    probe?.close()
    originProbe?.close()
    await decoder?.stop()
    await rig.stop()
  }
  return result
}

async function resumeOf(
  P: Params,
  system: System,
  setup: string,
  eager = false,
): Promise<ResumeSummary | Skipped> {
  const missing = system.missing()
  if (missing !== null) return { skipped: missing }
  const runs: ResumeRun[] = []
  for (let run = 1; run <= P.resumeRuns; run++) runs.push(await resumeRun(P, system, eager, run))
  return {
    setup,
    runs,
    ...keptSummary(runs),
    edgeMedianMs: round(median(nums(runs.map((r) => r.edgeMs))), 0),
    edgeMaxMs: round(max(nums(runs.map((r) => r.edgeMs))), 0),
    resumed: runs.filter((r) => r.edgeMs !== null).length,
    originMedianMs: round(median(nums(runs.map((r) => r.originMs))), 0),
    edgeDelayMedianMs: round(median(nums(runs.map((r) => r.edgeDelayMs))), 0),
    viewMedianMs: round(median(nums(runs.map((r) => r.viewMs))), 0),
  }
}

export async function phaseResume(
  P: Params,
  systems: { meshcast: System; nginx: System; nms: System },
): Promise<ResumePhase> {
  const meshcast = await resumeOf(
    P,
    systems.meshcast,
    'edge listing the origin; cluster.xml retryDuration default (30 s); republished once the edge shows one view of 2 again (as test/media.test.ts)',
  )
  const meshcastEager = await resumeOf(
    P,
    systems.meshcast,
    'the same, republished as soon as the restarted origin accepts RTMP (an encoder that keeps retrying), before its mesh has joined; restartMs = restart → RTMP accepts',
    true,
  )
  const nginx = await resumeOf(
    P,
    systems.nginx,
    'static pull (pull … name=back static), pull_reconnect default (3 s)',
  )
  const nodeMediaServer = await resumeOf(
    P,
    systems.nms,
    'relay task (reconnect on, NMS defaults: 2 s, doubling up to 30 s)',
  )
  return {
    date: new Date().toISOString(),
    loadAverage: loadavg(),
    meshcast,
    meshcastEager,
    nginx,
    nodeMediaServer,
  }
}
