// meshcast as the benchmark deploys it: daemons of a TestCluster, each edge
// listing its origin(s); the stream's place is read from /api/streams.
import { carrierOn, isListening, type NodeProcess, streamsOf, TestCluster, waitFor } from '@meshcast/testing'
import { daemonPid, sleep } from '../../lib.ts'
import { LOG_ARGS } from '../params.ts'
import type { Rig } from '../rig.ts'
import type { Server, System } from '../system.ts'
import { tcpRemotes } from '../tcp.ts'
import { until } from '../until.ts'

function server(node: NodeProcess): Server {
  let pid: number | null = null
  return {
    name: node.name,
    host: node.host,
    pid: () => {
      // the daemon behind its node_modules/.bin wrapper
      pid ??= daemonPid(node.child.pid as number)
      return pid
    },
    rtmp: (path) => `${node.rtmpUrl}${path}`,
    flv: (path) => `${node.httpUrl}${path}.flv`,
  }
}

const idOf = async (node: NodeProcess): Promise<string> => (await node.status()).id

async function viewSize(node: NodeProcess): Promise<number> {
  return ((await (await node.httpGet('/api/view')).json()) as { members: string[] }).members.length
}

/** What a meshcast node logged about pulls since `since` (ms since the epoch), for the evidence. */
function pullLog(node: NodeProcess, since: number): string[] {
  return node
    .records()
    .filter(
      (r) =>
        Date.parse(String(r.timestamp)) >= since &&
        /upstream|pull|anchor/i.test(String(r.message)) &&
        r.level !== 'debug',
    )
    .slice(0, 12)
    .map((r) =>
      JSON.stringify(r)
        .replace(/"timestamp":"[^"]*",?/, '')
        .slice(0, 300),
    )
}

/** A cluster the rig stops; its report is the last lines of every node's log. */
function cluster(rig: Rig): TestCluster {
  const c = new TestCluster()
  rig.add({ stop: () => c.stopAll(), report: () => c.report().split('\n').slice(-30).join('\n') })
  return c
}

const origin = (c: TestCluster, name: string) => c.start({ name, args: LOG_ARGS })

/** An edge listing the origins at cluster indexes `origins`. */
const edge = (c: TestCluster, name: string, origins: number[]) =>
  c.start({ name, cluster: { origins: origins.map((i) => c.address(i)) }, args: LOG_ARGS })

/** `node` pulls `path` as an edge (from the origin, not from another edge). */
const pulling = (node: NodeProcess, path: string, what = 'the edge to pull') =>
  until(what, async () => (await carrierOn(node, path))?.source === 'edge')

/** An origin and an edge listing it (repeating every stream), and their pids. */
async function originAndEdge(rig: Rig) {
  const c = cluster(rig)
  const o = await origin(c, 'origin')
  const e = await edge(c, 'edge', [0])
  return { o, e, pids: { edge: server(e).pid(), origin: server(o).pid() } }
}

export const meshcast: System = {
  name: 'meshcast',
  missing: () => null,

  ttff: {
    layout: 'an origin, a warm edge and an on-demand (cold) edge',
    async deploy(rig, path, { coldLingerS }) {
      const c = cluster(rig)
      const o = await origin(c, 'origin')
      const warm = await edge(c, 'warm-edge', [0])
      const cold = await c.start({
        name: 'cold-edge',
        cluster: { origins: [c.address(0)], streamOnDemand: true },
        properties: { 'edge.linger': coldLingerS },
        args: LOG_ARGS,
      })
      await rig.publish(`${o.rtmpUrl}${path}`)
      await pulling(warm, path, 'the warm edge to pull')
      await until('the cold edge to hear of the stream', async () =>
        (await streamsOf(cold)).streams.some((s) => s.path === path),
      )
      const coldServer = server(cold)
      return {
        origin: server(o),
        warm: server(warm),
        warmNote: 'repeat mode, one other player',
        cold: {
          server: coldServer,
          note: `streamOnDemand, edge.linger ${coldLingerS} s: no pull before the player`,
          tag: 'on demand',
          protos: ['RTMP', 'HTTP-FLV'],
          idle: () =>
            until(
              'the cold edge to end its pull (edge.linger after the last player)',
              async () =>
                (await carrierOn(cold, path)) === undefined &&
                !tcpRemotes(coldServer.pid()).includes(`${o.host}:1935`),
            ),
        },
      }
    },
  },

  failover: {
    layout: 'two origins and an edge',
    async deploy(rig, path) {
      const c = cluster(rig)
      const o1 = await origin(c, 'origin-1')
      const o2 = await origin(c, 'origin-2')
      const e = await edge(c, 'edge', [0, 1])
      const byId = new Map([
        [await idOf(o1), o1],
        [await idOf(o2), o2],
      ])
      await rig.publish(`${o1.rtmpUrl}${path}`)
      await rig.publish(`${o2.rtmpUrl}${path}`)
      const first = await waitFor(async () => (await carrierOn(e, path))?.via[0], {
        timeout: 15_000,
        what: 'the edge to pull',
      })
      return {
        edge: server(e),
        serving: async () => {
          const node = byId.get(first)
          if (node === undefined) throw new Error(`the edge pulls from ${first}, no origin of this run`)
          return { name: node.name, kill: () => node.kill('SIGKILL') }
        },
        watch: (_killedAt, ms) => sleep(ms),
        outcome: async (sinceWall) => {
          const now = await carrierOn(e, path)
          return { switched: now !== undefined && now.via[0] !== first, evidence: pullLog(e, sinceWall) }
        },
      }
    },
  },

  /**
   * `eager`: the stream is republished as soon as the restarted origin's RTMP
   * port accepts (an encoder that keeps retrying), before its mesh has joined;
   * else once the edge shows one view of 2 again (as test/media.test.ts does).
   */
  resume: {
    layout: 'an origin and an edge',
    async deploy(rig, path, { eager }) {
      const c = cluster(rig)
      await origin(c, 'origin')
      const e = await edge(c, 'edge', [0])
      // the restart replaces the origin's NodeProcess
      const o = () => c.nodes[0] as NodeProcess
      let pub = await rig.publish(`${o().rtmpUrl}${path}`)
      await until('the edge to pull', async () => (await carrierOn(e, path)) !== undefined)
      return {
        origin: { rtmp: (p) => `${o().rtmpUrl}${p}` },
        edge: { rtmp: (p) => `${e.rtmpUrl}${p}` },
        kill: () => {
          o().kill('SIGKILL')
          pub.child.kill('SIGKILL')
        },
        restart: async () => {
          const node = await c.restart(0, { ready: !eager })
          if (eager)
            await waitFor(
              async () => {
                if (node.exit !== null) throw new Error(`the origin exited: ${JSON.stringify(node.exit)}`)
                return (await isListening(node.host, node.rtmpPort, 200)) || undefined
              },
              { timeout: 20_000, interval: 10, what: 'the restarted origin to accept RTMP' },
            )
        },
        waitsForView: !eager,
        rejoined: async () => {
          if (!eager)
            await until('one view of 2 on the edge again', async () => (await viewSize(e)) === 2, 30_000)
        },
        republish: async () => {
          pub = await rig.publish(`${o().rtmpUrl}${path}`)
        },
        evidence: (since) => pullLog(e, since),
      }
    },
  },

  load: {
    layout: 'an origin and an edge',
    async deploy(rig, path) {
      const { o, e, pids } = await originAndEdge(rig)
      return {
        pids,
        publish: async () => {
          await rig.publish(`${o.rtmpUrl}${path}`)
          await pulling(e, path)
          return { playersOn: 'edge', playUrl: `${e.rtmpUrl}${path}`, note: 'edge in repeat mode' }
        },
      }
    },
  },

  relay: {
    layout: 'an origin and an edge repeating every stream',
    async deploy(rig, _path, { paths }) {
      const { o, e, pids } = await originAndEdge(rig)
      return {
        pids,
        publish: async (clip) => {
          for (const p of paths) rig.replay(clip, `${o.rtmpUrl}${p}`)
          for (const p of paths) await pulling(e, p, `the edge to pull ${p}`)
          return { note: 'edge in repeat mode (streamOnDemand false)' }
        },
      }
    },
  },
}
