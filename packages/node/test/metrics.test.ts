import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { EdgeCounters } from '@meshcast/cluster'
import type { MeshCounters } from '@meshcast/interface'
import type { StreamTraffic } from '@meshcast/media'
import type { Registry } from 'prom-client'
import { type MetricsSources, metricsRegistry } from '../src/metrics.ts'

/** Sources a test changes between scrapes. */
function stubs() {
  const state = {
    draining: false,
    streams: [{ path: '/live/a', subscribers: 2 }] as { path: string; subscribers: number }[],
    traffic: [{ path: '/live/a', inBytes: 1000, outBytes: 5000 }] as StreamTraffic[],
    mesh: {
      viewChanges: 3,
      suspicions: 1,
      silences: 2,
      busSent: 10,
      busDelivered: 20,
      retransmitted: 2,
      retransmitRequests: 1,
      gapsLost: 0,
      linkDrops: 0,
      dropped: { invalid: 4, duplicate: 1 },
    } as MeshCounters,
    members: 3,
    pulls: { started: 1, failed: 0, failovers: 0, ignoredCopies: 0 } as EdgeCounters,
    active: 1,
  }
  const sources: MetricsSources = {
    node: { id: 'n1', role: 'edge', version: '0.1.0', draining: () => state.draining },
    media: {
      streams: () => state.streams,
      traffic: () => state.traffic,
      boundBreaks: () => ({ 'setup-timeout': 2 }),
    },
    http: { refusals: () => ({ 'connections-per-ip': 3 }), slowed: () => 2 },
    mesh: { counters: () => state.mesh, members: () => state.members },
    pulls: { counters: () => state.pulls, active: () => state.active },
    auth: {
      counts: () => ({
        publish: { allowed: 2, refused: { 'bad-credentials': 1, 'no-credentials': 0 } },
        play: { allowed: 5, refused: { 'bad-credentials': 0, 'no-credentials': 4 } },
      }),
    },
  }
  return { state, sources }
}

/** Every sample of a scrape, as `name{labels}` → value. */
async function samples(registry: Registry): Promise<Map<string, number>> {
  const out = new Map<string, number>()
  for (const m of await registry.getMetricsAsJSON()) {
    for (const v of m.values) {
      const labels = Object.entries(v.labels)
        .map(([k, x]) => `${k}=${x}`)
        .join(',')
      out.set(labels === '' ? m.name : `${m.name}{${labels}}`, v.value)
    }
  }
  return out
}

describe('metrics (/metrics)', () => {
  test('reads every figure from its source at each scrape', async () => {
    const { state, sources } = stubs()
    const registry = metricsRegistry(sources, { processMetrics: false })
    const first = await samples(registry)
    assert.equal(first.get('meshcast_members'), 3)
    assert.equal(first.get('meshcast_view_changes_total'), 3)
    assert.equal(first.get('meshcast_bus_messages_received_total'), 20)
    assert.equal(first.get('meshcast_mesh_messages_dropped_total{reason=invalid}'), 4)
    assert.equal(first.get('meshcast_subscribers{stream=/live/a}'), 2)
    assert.equal(first.get('meshcast_stream_out_bytes_total{stream=/live/a}'), 5000)
    assert.equal(first.get('meshcast_pulls_started_total'), 1)
    assert.equal(first.get('meshcast_pulls_active'), 1)
    assert.equal(first.get('meshcast_draining'), 0)
    assert.equal(first.get('meshcast_http_refused_total{kind=connections-per-ip}'), 3)
    assert.equal(first.get('meshcast_http_slowed_total'), 2)
    assert.equal(first.get('meshcast_node_info{id=n1,role=edge,version=0.1.0}'), 1)
    assert.equal(first.get('meshcast_auth_total{action=publish,result=allowed}'), 2)
    assert.equal(first.get('meshcast_auth_total{action=publish,result=bad-credentials}'), 1)
    assert.equal(first.get('meshcast_auth_total{action=play,result=no-credentials}'), 4)

    state.traffic = [{ path: '/live/a', inBytes: 3000, outBytes: 9000 }]
    state.mesh = { ...state.mesh, busDelivered: 25, dropped: { ...state.mesh.dropped, stale: 2 } }
    state.pulls = { started: 1, failed: 2, failovers: 1, ignoredCopies: 3 }
    state.draining = true
    const second = await samples(registry)
    assert.equal(second.get('meshcast_stream_out_bytes_total{stream=/live/a}'), 9000, 'not 5000 + 9000')
    assert.equal(second.get('meshcast_bus_messages_received_total'), 25)
    assert.equal(second.get('meshcast_mesh_messages_dropped_total{reason=stale}'), 2)
    assert.equal(second.get('meshcast_pull_failovers_total'), 1)
    assert.equal(second.get('meshcast_pull_ignored_copies_total'), 3)
    assert.equal(second.get('meshcast_draining'), 1)
  })

  test('a stream that is gone takes its series with it', async () => {
    const { state, sources } = stubs()
    const registry = metricsRegistry(sources, { processMetrics: false })
    await samples(registry)
    state.streams = [{ path: '/live/b', subscribers: 0 }]
    state.traffic = [{ path: '/live/b', inBytes: 10, outBytes: 0 }]
    const after = await samples(registry)
    assert.equal(after.has('meshcast_subscribers{stream=/live/a}'), false)
    assert.equal(after.has('meshcast_stream_in_bytes_total{stream=/live/a}'), false)
    assert.equal(after.get('meshcast_stream_in_bytes_total{stream=/live/b}'), 10)
  })

  test('a standalone node has media figures only; the text format names each type', async () => {
    const { sources } = stubs()
    const registry = metricsRegistry({ ...sources, mesh: null, pulls: null }, { processMetrics: false })
    const text = await registry.metrics()
    assert.match(text, /^# TYPE meshcast_stream_in_bytes_total counter$/m)
    assert.match(text, /^# TYPE meshcast_subscribers gauge$/m)
    assert.match(text, /^meshcast_subscribers\{stream="\/live\/a"\} 2$/m)
    assert.doesNotMatch(text, /meshcast_members|meshcast_pulls_|process_/)
    assert.match(registry.contentType, /^text\/plain; version=0\.0\.4/)
  })

  test("prom-client's process metrics are on by default, in this registry only", async () => {
    const { sources } = stubs()
    const text = await metricsRegistry(sources).metrics()
    assert.match(text, /^process_resident_memory_bytes \d+/m)
    assert.match(text, /^nodejs_eventloop_lag_seconds /m)
  })
})
