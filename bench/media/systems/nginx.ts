// nginx-rtmp (Debian's libnginx-mod-rtmp) as the benchmark deploys it: every
// server its own single-process nginx; an edge is `application live` with
// `pull` directives: on demand (a player starts it) or `static` (always).
import { loopbackSubnet, nginxRtmpMissing } from '@meshcast/testing'
import { sleep } from '../../lib.ts'
import { STREAM_APP } from '../params.ts'
import { peek } from '../probe.ts'
import type { Rig } from '../rig.ts'
import type { System } from '../system.ts'
import { tcpRemotes } from '../tcp.ts'
import { until } from '../until.ts'
import { NginxServer } from './nginx-server.ts'
import { plainResume } from './plain-resume.ts'

/** the players phase's largest step, and then some: nginx's default 1024 would refuse players first */
const WORKER_CONNECTIONS = 8192

/** Starts servers on successive addresses of a fresh loopback subnet, each stopped by the rig. */
function starter(rig: Rig): (name: string, pull?: string[]) => Promise<NginxServer> {
  const address = loopbackSubnet()
  let next = 0
  return async (name, pull = []) =>
    rig.add(
      await NginxServer.start({ name, host: address(next++), pull, workerConnections: WORKER_CONNECTIONS }),
    )
}

/** A pull started by the first player of any stream of the app. */
const onDemand = (origin: NginxServer) => `rtmp://${origin.host}:1935/${STREAM_APP}`
/** A pull of one stream, kept whoever plays. */
const staticPull = (origin: NginxServer, path: string) =>
  `rtmp://${origin.host}:1935${path} name=${path.split('/').pop()} static`

/** An origin, and an edge with a static pull of each path. */
async function staticPair(
  rig: Rig,
  paths: readonly string[],
): Promise<{ origin: NginxServer; edge: NginxServer }> {
  const start = starter(rig)
  const origin = await start('nginx-origin')
  const edge = await start(
    'nginx-edge',
    paths.map((p) => staticPull(origin, p)),
  )
  return { origin, edge }
}

/** Its last lines about pulls, for the evidence. */
const pullLog = (s: NginxServer) =>
  s
    .report()
    .split('\n')
    .filter((l) => /relay|pull|disconnect/i.test(l))
    .slice(-6)

export const nginx: System = {
  name: 'nginx-rtmp',
  missing: nginxRtmpMissing,

  ttff: {
    layout: 'an origin and two pull edges',
    async deploy(rig, path) {
      const start = starter(rig)
      const origin = await start('nginx-origin')
      const warm = await start('nginx-warm-edge', [onDemand(origin)])
      const cold = await start('nginx-cold-edge', [onDemand(origin)])
      await rig.publish(origin.rtmp(path))
      await sleep(1500)
      return {
        origin,
        warm,
        warmNote: 'one other player',
        cold: {
          server: cold,
          note: 'pull on demand (no player: no pull)',
          tag: 'pull on demand',
          protos: ['RTMP'],
          idle: () => until('the cold nginx edge to end its pull', () => tcpRemotes(cold.pid()).length === 0),
        },
      }
    },
  },

  failover: {
    layout: 'two origins and an edge pulling from both',
    async deploy(rig, path) {
      const start = starter(rig)
      const o1 = await start('nginx-origin-1')
      const o2 = await start('nginx-origin-2')
      const edge = await start('nginx-edge', [onDemand(o1), onDemand(o2)])
      await rig.publish(o1.rtmp(path))
      await rig.publish(o2.rtmp(path))
      await sleep(1500)
      let other: NginxServer | null = null
      let otherAt: number | null = null
      let killedAt = 0
      let watchMs = 0
      return {
        edge,
        serving: async () => {
          // nginx says nothing of which pull it uses: its connections do
          const upstreams = tcpRemotes(edge.pid())
          const serving = [o1, o2].filter((o) => upstreams.includes(`${o.host}:1935`))
          const [victim] = serving
          if (serving.length !== 1 || victim === undefined)
            throw new Error(`the edge should pull from one origin; its connections: ${upstreams.join(', ')}`)
          other = victim === o1 ? o2 : o1
          return victim
        },
        watch: async (at, ms) => {
          killedAt = at
          watchMs = ms
          const to = `${other?.host}:1935`
          while (performance.now() - at < ms) {
            if (otherAt === null && tcpRemotes(edge.pid()).includes(to)) otherAt = performance.now()
            await sleep(50)
          }
        },
        outcome: async () => ({
          switched: otherAt !== null,
          evidence: [
            otherAt === null
              ? `the edge never connected to ${other?.name} within ${watchMs} ms`
              : `the edge connected to ${other?.name} ${Math.round(otherAt - killedAt)} ms after the kill`,
            ...pullLog(edge),
          ],
        }),
      }
    },
  },

  resume: {
    layout: 'an origin and an edge',
    async deploy(rig, path) {
      const { origin, edge } = await staticPair(rig, [path])
      return await plainResume(rig, path, origin, edge, () => pullLog(edge))
    },
  },

  load: {
    layout: 'an origin and an edge',
    async deploy(rig, path) {
      const { origin, edge } = await staticPair(rig, [path])
      return {
        pids: { edge: edge.pid(), origin: origin.pid() },
        publish: async () => {
          await rig.publish(origin.rtmp(path))
          if ((await peek(edge.rtmp(path), 15_000)).keyMs === null)
            throw new Error(`no keyframe at the nginx edge: ${edge.report()}`)
          return { playersOn: 'edge', playUrl: edge.rtmp(path), note: 'edge with a static pull' }
        },
      }
    },
  },

  relay: {
    layout: 'an origin and an edge with a static pull per stream',
    async deploy(rig, _path, { paths }) {
      const { origin, edge } = await staticPair(rig, paths)
      return {
        pids: { edge: edge.pid(), origin: origin.pid() },
        publish: async (clip) => {
          for (const p of paths) rig.replay(clip, origin.rtmp(p))
          // every pull delivers: a keyframe from each path at the edge (the probes leave again)
          const seen = await Promise.all(paths.map((p) => peek(edge.rtmp(p), 20_000)))
          const missing = paths.filter((_, i) => seen[i]?.keyMs === null)
          if (missing.length > 0) throw new Error(`no keyframe at the nginx edge for ${missing.join(', ')}`)
          return { note: 'a static pull per stream' }
        },
      }
    },
  },
}
