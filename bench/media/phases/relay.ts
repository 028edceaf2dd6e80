// Phase 5, relay: what an edge spends repeating many streams nobody watches
// (meshcast's default, streamOnDemand false, repeats every stream of the
// cluster): an origin and an edge, the edge idle, then relaying `streams`
// replays of one clip at a constant bitrate, each window once all of them flow.
import { loadavg } from 'node:os'
import { progress, round, sleep } from '../../lib.ts'
import { tempDir } from '../children.ts'
import { type Clip, encodeClip } from '../clip.ts'
import { type Params, STREAM_APP } from '../params.ts'
import { Rig } from '../rig.ts'
import type { System, SystemName } from '../system.ts'
import { eachSystem } from './each-system.ts'
import { measureWindow, type Window } from './window.ts'

export interface RelayResult {
  system: SystemName
  note: string
  idle: Window
  relaying: Window
  /** (relaying - idle) / streams, the edge process */
  perStream: { cpuPct: number | null; rssMiB: number | null }
}

export interface RelayPhase {
  date: string
  loadAverage: number[]
  streams: number
  /** what the clip carries, audio and video */
  clipKbps: number
  results: RelayResult[]
  errors: Record<string, string>
  skipped: Record<string, string>
}

async function relaySeries(P: Params, system: System, clip: Clip): Promise<RelayResult> {
  const setup = system.relay
  if ('skipped' in setup) throw new Error(setup.skipped)
  const paths = Array.from({ length: P.relayStreams }, (_, i) => `/${STREAM_APP}/relay${i}`)
  const label = `relay: ${system.name}`
  progress(`${label}: starting ${setup.layout}`)
  const rig = new Rig()
  try {
    const d = await setup.deploy(rig, paths[0] ?? '', { paths })
    await sleep(P.warmupMs)
    progress(`${label}: idle for ${P.idleWindowS} s`)
    const idle = await measureWindow(d.pids, P.idleWindowS)
    progress(`${label}: publishing ${paths.length} streams`)
    const { note } = await d.publish(clip)
    await sleep(P.warmupMs)
    progress(`${label}: relaying ${paths.length} streams, no player, for ${P.relayWindowS} s`)
    const relaying = await measureWindow(d.pids, P.relayWindowS)
    const per = (a: number | null | undefined, b: number | null | undefined, digits: number) =>
      a == null || b == null ? null : round((a - b) / paths.length, digits)
    return {
      system: system.name,
      note,
      idle,
      relaying,
      perStream: {
        cpuPct: per(relaying.cpuPct.edge, idle.cpuPct.edge, 3),
        rssMiB: per(relaying.rssMiB.edge, idle.rssMiB.edge, 2),
      },
    }
  } finally {
    progress(`${label}: stopping`)
    await rig.stop()
  }
}

export async function phaseRelay(P: Params, systems: readonly System[]): Promise<RelayPhase> {
  progress(`relay: encoding a ${P.relayBitrate} clip`)
  const clip = await encodeClip(tempDir('meshcast-bench-relay-'), P.relayBitrate, P.relayClipS)
  const bySystem = await eachSystem(
    systems,
    (system) => relaySeries(P, system, clip),
    (system) => ('skipped' in system.relay ? system.relay.skipped : null),
  )
  return {
    date: new Date().toISOString(),
    loadAverage: loadavg(),
    streams: P.relayStreams,
    clipKbps: clip.kbps,
    ...bySystem,
  }
}
