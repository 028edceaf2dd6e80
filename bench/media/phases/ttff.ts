// Phase 1, time to first frame: a new player on an origin, on an edge already
// carrying the stream, and on an edge that must start its pull; every system
// deployed in turn, its targets probed round-robin.
import { loadavg } from 'node:os'
import {
  type CpuShares,
  cpuMark,
  cpuSince,
  errorText,
  max,
  median,
  min,
  nums,
  progress,
  quantile,
  round,
  sleep,
} from '../../lib.ts'
import { flvProbe } from '../flv-probe.ts'
import { type Params, STREAM_APP } from '../params.ts'
import { keeper, RtmpProbe } from '../probe.ts'
import { Rig } from '../rig.ts'
import type { Proto, Server, System, SystemName, TtffDeployment } from '../system.ts'

export type Role = 'origin' | 'warm edge' | 'cold edge'

/** What is probed, as the results name it. */
interface TtffWhat {
  system: SystemName
  role: Role
  proto: Proto
  url: string
  /** how this target differs from the others of its role */
  note?: string
  /** a few words of that for the table */
  tag?: string
}

interface TtffTarget extends TtffWhat {
  /** before each probe (e.g. wait until the cold edge's pull has ended) */
  before?: () => Promise<void>
  /** right after the probe started (NMS: add the relay task) */
  begin?: () => void
  /** after each probe */
  after?: () => Promise<void>
}

export interface TtffSample {
  run: number
  /** start → first video keyframe; null: none within the timeout */
  ms: number | null
  decodable: boolean
  /** RTMP: start → NetStream.Play.Start; HTTP-FLV: start → response headers */
  startMs: number | null
  error?: string
}

export interface TtffResult extends TtffWhat {
  medianMs: number | null
  p90Ms: number | null
  minMs: number | null
  maxMs: number | null
  startMedianMs: number | null
  /** probes that got a keyframe */
  measured: number
  runs: number
  /** of those, with the sequence header before */
  decodable: number
  warmup: TtffSample | null
  samples: TtffSample[]
}

export interface TtffPhase {
  date: string
  loadAverage: number[]
  results: TtffResult[]
  /** by system: why its deployment or a probe failed */
  errors: Record<string, string>
  skipped: Record<string, string>
  cpuBySystem: Record<string, CpuShares>
}

async function ttffSample(P: Params, t: TtffTarget, run: number): Promise<TtffSample> {
  if (t.proto === 'HTTP-FLV') {
    const r = await flvProbe(t.url, P.ttffTimeoutMs)
    return {
      run,
      ms: r.ms,
      decodable: r.decodable,
      startMs: r.headersMs,
      ...(r.error === undefined ? {} : { error: r.error }),
    }
  }
  const probe = new RtmpProbe(t.url).start()
  t.begin?.()
  const ms = await probe.firstKey(P.ttffTimeoutMs)
  probe.close()
  const error =
    ms !== null
      ? null
      : (probe.error ?? (probe.closedAt !== null ? 'connection closed' : 'no keyframe in time'))
  return {
    run,
    ms: round(ms, 1),
    decodable: probe.firstKeyDecodable,
    startMs: round(probe.playStartAt === null ? null : probe.playStartAt - probe.t0, 1),
    ...(error === null ? {} : { error }),
  }
}

function ttffSummary(t: TtffTarget, samples: TtffSample[], warmup: TtffSample | null): TtffResult {
  const ms = nums(samples.map((s) => s.ms))
  return {
    system: t.system,
    role: t.role,
    proto: t.proto,
    url: t.url,
    ...(t.note === undefined ? {} : { note: t.note }),
    ...(t.tag === undefined ? {} : { tag: t.tag }),
    medianMs: round(median(ms), 1),
    p90Ms: round(quantile(ms, 0.9), 1),
    minMs: round(min(ms), 1),
    maxMs: round(max(ms), 1),
    startMedianMs: round(median(nums(samples.map((s) => s.startMs))), 1),
    measured: ms.length,
    runs: samples.length,
    decodable: samples.filter((s) => s.ms !== null && s.decodable).length,
    warmup,
    samples,
  }
}

/** Every target once as a warm-up, then P.ttffRuns rounds over the targets in turn. */
async function ttffSeries(P: Params, targets: TtffTarget[]): Promise<TtffResult[]> {
  const samples = targets.map((): TtffSample[] => [])
  const warmups: (TtffSample | null)[] = []
  const label = (t: TtffTarget) => `ttff: ${t.system} ${t.role} ${t.proto}`
  for (const t of targets) {
    progress(`${label(t)}: warm-up`)
    await t.before?.()
    warmups.push(await ttffSample(P, t, 0))
    await t.after?.()
  }
  for (let run = 1; run <= P.ttffRuns; run++) {
    for (const [i, t] of targets.entries()) {
      progress(`${label(t)}: run ${run}/${P.ttffRuns}`)
      await t.before?.()
      await sleep(Math.random() * P.gopMs)
      samples[i]?.push(await ttffSample(P, t, run))
      await t.after?.()
    }
  }
  return targets.map((t, i) => ttffSummary(t, samples[i] ?? [], warmups[i] ?? null))
}

/** Each protocol in turn: origin, warm edge, cold edge, where the server serves it. */
function targetsOf(system: SystemName, d: TtffDeployment, path: string): TtffTarget[] {
  const { cold } = d
  const targets: TtffTarget[] = []
  for (const proto of ['RTMP', 'HTTP-FLV'] as const) {
    const url = (s: Server) => (proto === 'RTMP' ? s.rtmp(path) : s.flv(path))
    const origin = url(d.origin)
    if (origin !== null) targets.push({ system, role: 'origin', proto, url: origin })
    const warm = url(d.warm)
    if (warm !== null) targets.push({ system, role: 'warm edge', proto, url: warm, note: d.warmNote })
    const coldUrl = url(cold.server)
    if (coldUrl !== null && cold.protos.includes(proto))
      targets.push({
        system,
        role: 'cold edge',
        proto,
        url: coldUrl,
        note: cold.note,
        tag: cold.tag,
        before: async () => {
          await cold.idle()
          await sleep(200)
        },
        begin: () => cold.begin?.(),
        after: async () => {
          await cold.after?.()
        },
      })
  }
  return targets
}

async function ttffSystem(P: Params, system: System): Promise<TtffResult[]> {
  const path = `/${STREAM_APP}/ttff`
  const rig = new Rig()
  let keep: RtmpProbe | null = null
  try {
    progress(`ttff: ${system.name}: starting ${system.ttff.layout}`)
    const d = await system.ttff.deploy(rig, path, { coldLingerS: P.coldLingerS })
    keep = await keeper(d.warm.rtmp(path), `the ${system.name} warm edge`)
    return await ttffSeries(P, targetsOf(system.name, d, path))
  } catch (err) {
    throw new Error(`${errorText(err)}\n${rig.report()}`)
  } finally {
    progress(`ttff: ${system.name}: stopping`)
    keep?.close()
    await rig.stop()
  }
}

export async function phaseTtff(P: Params, systems: readonly System[]): Promise<TtffPhase> {
  const results: TtffResult[] = []
  const errors: Record<string, string> = {}
  const skipped: Record<string, string> = {}
  const cpu: Record<string, CpuShares> = {}
  for (const system of systems) {
    const missing = system.missing()
    if (missing !== null) {
      skipped[system.name] = missing
      continue
    }
    const mark = cpuMark()
    try {
      results.push(...(await ttffSystem(P, system)))
    } catch (err) {
      errors[system.name] = errorText(err)
    }
    cpu[system.name] = cpuSince(mark)
  }
  return {
    date: new Date().toISOString(),
    loadAverage: loadavg(),
    results,
    errors,
    skipped,
    cpuBySystem: cpu,
  }
}
