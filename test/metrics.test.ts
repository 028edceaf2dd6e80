import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { describe, test } from 'node:test'
import { type NodeProcess, play, publish, waitFor, withCluster } from '@meshcast/testing'

/** One metric family as parse-prometheus-text-format gives it (the package ships no types). */
interface Family {
  name: string
  help: string
  type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED'
  metrics: { value?: string; labels?: Record<string, string> }[]
}
const parsePrometheus = createRequire(import.meta.url)('parse-prometheus-text-format') as (
  text: string,
) => Family[]

interface Scrape {
  families: Map<string, Family>
  /** the value of `name` with these labels (all of them), or undefined when there is no such sample */
  value(name: string, labels?: Record<string, string>): number | undefined
}

async function scrape(node: NodeProcess): Promise<Scrape> {
  const res = await node.httpGet('/metrics')
  assert.equal(res.status, 200)
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/)
  const families = new Map(parsePrometheus(await res.text()).map((f) => [f.name, f]))
  return {
    families,
    value(name, labels = {}) {
      const sample = families
        .get(name)
        ?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))
      return sample?.value === undefined ? undefined : Number(sample.value)
    },
  }
}

interface StreamsBody {
  streams: { path: string; carriers: { node: string; source: string; kbps: number }[] }[]
}

const PATH = '/live/metrics'
const stream = { stream: PATH }

describe('GET /metrics (Prometheus)', () => {
  test(
    'parses, and moves when a subscriber joins: subscribers, bytes out of the stream, pulls on the edge',
    withCluster(async (cluster, t) => {
      const origin = await cluster.start()
      const edge = await cluster.start({ cluster: { origins: [cluster.address(0)] } })
      const publisher = await publish(`${origin.rtmpUrl}${PATH}`, { seconds: 120 })
      t.after(() => publisher.stop())
      const pulling = await waitFor(
        async () => {
          const s = await scrape(edge)
          return (s.value('meshcast_pulls_active') ?? 0) >= 1 ? s : undefined
        },
        { timeout: 15_000, what: 'the edge to pull the stream' },
      )
      for (const [name, type] of [
        ['meshcast_members', 'GAUGE'],
        ['meshcast_view_changes_total', 'COUNTER'],
        ['meshcast_suspicions_total', 'COUNTER'],
        ['meshcast_silences_total', 'COUNTER'],
        ['meshcast_bus_messages_sent_total', 'COUNTER'],
        ['meshcast_bus_messages_received_total', 'COUNTER'],
        ['meshcast_bus_messages_retransmitted_total', 'COUNTER'],
        ['meshcast_bus_messages_lost_total', 'COUNTER'],
        ['meshcast_mesh_messages_dropped_total', 'COUNTER'],
        ['meshcast_pulls_active', 'GAUGE'],
        ['meshcast_pulls_started_total', 'COUNTER'],
        ['meshcast_pulls_failed_total', 'COUNTER'],
        ['meshcast_pull_failovers_total', 'COUNTER'],
        ['meshcast_subscribers', 'GAUGE'],
        ['meshcast_stream_in_bytes_total', 'COUNTER'],
        ['meshcast_stream_out_bytes_total', 'COUNTER'],
        ['meshcast_draining', 'GAUGE'],
        ['process_resident_memory_bytes', 'GAUGE'],
      ] as const)
        assert.equal(pulling.families.get(name)?.type, type, `${name} on the edge`)
      assert.equal(pulling.value('meshcast_members'), 2)
      assert.equal(pulling.value('meshcast_pulls_started_total'), 1)
      assert.equal(pulling.value('meshcast_node_info', { role: 'edge' }), 1)
      assert.equal(pulling.value('meshcast_subscribers', stream), 0, 'nobody watches yet')
      assert.equal(pulling.value('meshcast_stream_out_bytes_total', stream), 0)
      const originBefore = await scrape(origin)
      assert.equal(originBefore.families.has('meshcast_pulls_active'), false, 'an origin pulls nothing')
      assert.ok((originBefore.value('meshcast_stream_in_bytes_total', stream) ?? 0) > 0)

      const player = play(`${edge.rtmpUrl}${PATH}`, { frames: 100, timeout: 30_000 })
      const watching = await waitFor(
        async () => {
          const s = await scrape(edge)
          return s.value('meshcast_subscribers', stream) === 1 &&
            (s.value('meshcast_stream_out_bytes_total', stream) ?? 0) > 0
            ? s
            : undefined
        },
        { timeout: 15_000, what: 'the edge to count its player' },
      )
      const p = await player
      assert.ok(p.frames.length >= 100, `${p.frames.length} frames; ${p.stderr.slice(-500)}`)
      const left = await waitFor(
        async () => {
          const s = await scrape(edge)
          return s.value('meshcast_subscribers', stream) === 0 ? s : undefined
        },
        { timeout: 10_000, what: 'the player to be gone' },
      )
      const outWhile = watching.value('meshcast_stream_out_bytes_total', stream) ?? 0
      const outAfter = left.value('meshcast_stream_out_bytes_total', stream) ?? 0
      process.stdout.write(`# edge bytes out of ${PATH}: ${outWhile} while playing, ${outAfter} after\n`)
      assert.ok(outAfter > outWhile, 'the bytes of the player that left are kept')
      assert.ok(
        (left.value('meshcast_stream_in_bytes_total', stream) ?? 0) >
          (pulling.value('meshcast_stream_in_bytes_total', stream) ?? 0),
      )
      assert.equal(left.value('meshcast_pulls_started_total'), 1, 'one pull, however many players')
      assert.equal(left.value('meshcast_bus_messages_sent_total'), 0, 'nothing on these nodes uses the bus')
      const originAfter = await scrape(origin)
      assert.ok(
        (originAfter.value('meshcast_stream_out_bytes_total', stream) ?? 0) >
          (originBefore.value('meshcast_stream_out_bytes_total', stream) ?? 0),
        "the edge's pull is the origin's player",
      )
    }),
  )

  test(
    'stream adverts carry the incoming bitrate, shown per carrier in /api/streams',
    withCluster(async (cluster, t) => {
      const origin = await cluster.start()
      const edge = await cluster.start({ cluster: { origins: [cluster.address(0)] } })
      const publisher = await publish(`${origin.rtmpUrl}${PATH}`, { seconds: 120 })
      t.after(() => publisher.stop())
      const carriers = await waitFor(
        async () => {
          const body = (await (await edge.httpGet('/api/streams')).json()) as StreamsBody
          const cs = body.streams.find((s) => s.path === PATH)?.carriers ?? []
          return cs.length === 2 && cs.every((c) => c.kbps > 0) ? cs : undefined
        },
        { timeout: 20_000, what: 'a bitrate in both adverts' },
      )
      process.stdout.write(`# kbps per carrier: ${carriers.map((c) => `${c.source} ${c.kbps}`).join(', ')}\n`)
      for (const c of carriers) {
        assert.equal(Number(c.kbps.toPrecision(2)), c.kbps, `${c.kbps} has 2 significant digits`)
        assert.ok(c.kbps > 20 && c.kbps < 20_000, `${c.source}: ${c.kbps} kbit/s`)
      }
    }),
  )

  test(
    'a standalone node serves its media figures (and no mesh ones)',
    withCluster(async (cluster, t) => {
      const node = await cluster.start({ cluster: { nodeType: 'off' } })
      const publisher = await publish(`${node.rtmpUrl}${PATH}`, { seconds: 60 })
      t.after(() => publisher.stop())
      const s = await waitFor(
        async () => {
          const s = await scrape(node)
          return (s.value('meshcast_stream_in_bytes_total', stream) ?? 0) > 0 ? s : undefined
        },
        { timeout: 15_000, what: 'bytes in' },
      )
      assert.equal(s.value('meshcast_subscribers', stream), 0)
      assert.equal(s.value('meshcast_node_info', { role: 'standalone' }), 1)
      assert.equal(s.families.has('meshcast_members'), false)
      assert.equal(s.families.has('meshcast_pulls_started_total'), false)
    }),
  )
})
