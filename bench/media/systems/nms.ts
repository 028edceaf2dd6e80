// node-media-server standalone as the benchmark deploys it: every server its
// own process; an edge is a server with a relay task pulling from the origin
// (NMS has no on-demand pull).
import { loopbackSubnet } from '@meshcast/testing'
import { sleep } from '../../lib.ts'
import { peek } from '../probe.ts'
import type { Rig } from '../rig.ts'
import type { System } from '../system.ts'
import { tcpRemotes } from '../tcp.ts'
import { until } from '../until.ts'
import { NmsServer } from './nms-server.ts'
import { plainResume } from './plain-resume.ts'

/** Starts servers on successive addresses of a fresh loopback subnet, each stopped by the rig. */
function starter(rig: Rig): (name: string) => Promise<NmsServer> {
  const address = loopbackSubnet()
  let next = 0
  return async (name) => rig.add(await NmsServer.start(name, address(next++)))
}

/** An origin and an edge, the edge with no relay task yet. */
async function pair(rig: Rig): Promise<{ origin: NmsServer; edge: NmsServer }> {
  const start = starter(rig)
  return { origin: await start('nms-origin'), edge: await start('nms-edge') }
}

/** Its last lines about relays, for the evidence. */
const relayLog = (s: NmsServer) =>
  s
    .tail(40)
    .split('\n')
    .filter((l) => /relay|RTMP session|reconnect/i.test(l))
    .slice(-6)

export const nms: System = {
  name: 'node-media-server',
  missing: () => null,

  ttff: {
    layout: 'an origin and two relay edges',
    async deploy(rig, path) {
      const start = starter(rig)
      const origin = await start('nms-origin')
      const edge = await start('nms-edge')
      const cold = await start('nms-cold-edge')
      await rig.publish(origin.rtmp(path))
      await sleep(1500)
      edge.pull(origin.rtmp(path), path)
      return {
        origin,
        warm: edge,
        warmNote: 'static relay task, one other player',
        cold: {
          server: cold,
          note: 'NMS has no on-demand pull: the relay task is added as the player connects, removed after',
          tag: 'relay task added as the player connects',
          // the relay task comes with an RTMP probe's begin(): an HTTP-FLV probe would find no stream
          protos: ['RTMP'],
          idle: () => until('the cold NMS edge to drop its relay', () => tcpRemotes(cold.pid()).length === 0),
          begin: () => cold.pull(origin.rtmp(path), path),
          after: async () => cold.unpull(path),
        },
      }
    },
  },

  failover: {
    skipped: 'a node-media-server relay task pulls from one URL: there is no second origin to fail over to',
  },

  resume: {
    layout: 'an origin and an edge',
    async deploy(rig, path) {
      const { origin, edge } = await pair(rig)
      edge.pull(origin.rtmp(path), path)
      return await plainResume(rig, path, origin, edge, () => relayLog(edge))
    },
  },

  load: {
    layout: 'an origin and an edge',
    async deploy(rig, path) {
      const { origin, edge } = await pair(rig)
      return {
        pids: { edge: edge.pid(), origin: origin.pid() },
        publish: async () => {
          await rig.publish(origin.rtmp(path))
          await sleep(1500)
          edge.pull(origin.rtmp(path), path)
          await sleep(1000)
          const { keyMs, decodable } = await peek(edge.rtmp(path), 15_000)
          if (keyMs !== null && decodable)
            return { playersOn: 'edge', playUrl: edge.rtmp(path), note: 'edge with a relay task' }
          // the relay stays (the edge's figures still count it); the players go to the origin
          return {
            playersOn: 'origin',
            playUrl: origin.rtmp(path),
            note:
              keyMs === null
                ? 'players on the ORIGIN: a player on the relay edge got no keyframe'
                : 'players on the ORIGIN: a player on the relay edge got keyframes but no AVC sequence header before them (undecodable)',
          }
        },
      }
    },
  },

  relay: {
    skipped:
      'its relay edge gives players no decodable stream (the ttff and load phases), so a relay of many streams is no comparison',
  },
}
