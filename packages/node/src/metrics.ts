import type { EdgeCounters } from '@meshcast/cluster'
import type { MeshCounters } from '@meshcast/interface'
import type { StreamTraffic } from '@meshcast/media'
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client'

/**
 * ms between the event-loop delay samples of the process metrics. prom-client's 10 ms tripled an
 * idle node's CPU (0.35 → 1.0 % of a core, measured); at 100 ms it costs no measurable CPU
 * (0.38 %), and lag percentiles over a 15 s scrape still rest on 150 samples.
 */
const EVENT_LOOP_SAMPLE_MS = 100

/** What `/metrics` reads, at each scrape (nothing is sampled in between). */
export interface MetricsSources {
  node: { id: string; role: string; version: string; draining: () => boolean }
  /** this node's streams: players now, and bytes in and out (monotonic while a stream exists here) */
  media: {
    streams(): readonly { path: string; subscribers: number }[]
    traffic(): readonly StreamTraffic[]
    /** RTMP connections closed for breaking a bound, by kind */
    boundBreaks(): Readonly<Record<string, number>>
  }
  /** HTTP connections refused and requests rejected before any route, by kind; connections slowed by the request rate */
  http: { refusals(): Readonly<Record<string, number>>; slowed(): number }
  /** null on a standalone node */
  mesh: { counters(): MeshCounters; members(): number } | null
  /** null unless the node pulls streams (edges and relays) */
  pulls: { counters(): EdgeCounters; active(): number } | null
  /** publishes and plays allowed and refused by the access check (all allowed while auth is off) */
  auth: { counts(): AuthCounts }
}

/** Per action: allowed, and refused by reason. */
export type AuthCounts = Record<string, { allowed: number; refused: Readonly<Record<string, number>> }>

export interface MetricsOptions {
  /**
   * also prom-client's default process metrics (`process_*`, `nodejs_*`: CPU,
   * memory, handles, event-loop lag, GC); default true
   */
  processMetrics?: boolean
}

/** A counter set from a cumulative source at each scrape. */
function counter(registry: Registry, name: string, help: string, read: () => number): void {
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset()
      this.inc(read())
    },
  })
}

/** A counter with one label, set from a cumulative source per label value at each scrape. */
function labelledCounter(
  registry: Registry,
  name: string,
  help: string,
  label: string,
  read: () => Iterable<readonly [string, number]>,
): void {
  new Counter({
    name,
    help,
    labelNames: [label],
    registers: [registry],
    collect() {
      this.reset()
      for (const [value, n] of read()) this.inc({ [label]: value }, n)
    },
  })
}

function gauge(registry: Registry, name: string, help: string, read: () => number): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read())
    },
  })
}

/**
 * The node's Prometheus registry (its own, not prom-client's global one):
 * every figure is read from its live source when `/metrics` is scraped.
 * Counters come from cumulative sources, so they only go up; the per-stream
 * ones cover the streams on the node now (a stream that ends takes its
 * series with it, which Prometheus' `rate()` reads as a reset).
 */
export function metricsRegistry(sources: MetricsSources, opts: MetricsOptions = {}): Registry {
  const registry = new Registry()
  const { node, media, http, mesh, pulls, auth } = sources
  new Gauge({
    name: 'meshcast_node_info',
    help: 'This node: its id (mesh peer id), role and version; always 1',
    labelNames: ['id', 'role', 'version'],
    registers: [registry],
    collect() {
      this.set({ id: node.id, role: node.role, version: node.version }, 1)
    },
  })
  gauge(registry, 'meshcast_draining', '1 while the node shuts down (takes no new players), else 0', () =>
    node.draining() ? 1 : 0,
  )
  addMedia(registry, media)
  labelledCounter(
    registry,
    'meshcast_http_refused_total',
    'HTTP connections refused (per-address cap) and requests rejected before any route (malformed, headers too large, too slow, over the request rate)',
    'kind',
    () => Object.entries(http.refusals()),
  )
  counter(
    registry,
    'meshcast_http_slowed_total',
    'HTTP connections whose requests waited their turn because their address broke http.max_request_rate',
    () => http.slowed(),
  )
  if (mesh !== null) addMesh(registry, mesh)
  if (pulls !== null) addPulls(registry, pulls)
  addAuth(registry, auth)
  if (opts.processMetrics ?? true)
    collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS })
  return registry
}

function addMedia(registry: Registry, media: MetricsSources['media']): void {
  new Gauge({
    name: 'meshcast_subscribers',
    help: 'Players (RTMP, HTTP-FLV, WS-FLV) of each stream on this node',
    labelNames: ['stream'],
    registers: [registry],
    collect() {
      this.reset()
      for (const s of media.streams()) this.set({ stream: s.path }, s.subscribers)
    },
  })
  labelledCounter(
    registry,
    'meshcast_stream_in_bytes_total',
    'Bytes received for each stream on this node: from its publisher, or media fed by its pull',
    'stream',
    () => media.traffic().map((t) => [t.path, t.inBytes] as const),
  )
  labelledCounter(
    registry,
    'meshcast_rtmp_bound_breaks_total',
    'RTMP connections closed for breaking a bound (message length, chunk streams, buffered bytes, setup time, inactivity, per-address caps), or slowed for the chunk rate',
    'kind',
    () => Object.entries(media.boundBreaks()),
  )
  labelledCounter(
    registry,
    'meshcast_stream_out_bytes_total',
    'Media bytes sent to the players of each stream on this node (players that left included)',
    'stream',
    () => media.traffic().map((t) => [t.path, t.outBytes] as const),
  )
}

function addAuth(registry: Registry, auth: MetricsSources['auth']): void {
  new Counter({
    name: 'meshcast_auth_total',
    help: 'Publishes and plays (RTMP, HTTP-FLV, WS-FLV) the access check allowed or refused, by action and result (allowed, or the refusal: no-credentials, bad-credentials, odd-credentials, validator-failed, not-allowed)',
    labelNames: ['action', 'result'],
    registers: [registry],
    collect() {
      this.reset()
      for (const [action, c] of Object.entries(auth.counts())) {
        this.inc({ action, result: 'allowed' }, c.allowed)
        for (const [reason, n] of Object.entries(c.refused)) this.inc({ action, result: reason }, n)
      }
    },
  })
}

function addMesh(registry: Registry, mesh: NonNullable<MetricsSources['mesh']>): void {
  gauge(registry, 'meshcast_members', 'Members in this node’s current view, itself included', () =>
    mesh.members(),
  )
  const c = (key: Exclude<keyof MeshCounters, 'dropped'>) => () => mesh.counters()[key]
  counter(registry, 'meshcast_view_changes_total', 'Views installed or adopted', c('viewChanges'))
  counter(
    registry,
    'meshcast_suspicions_total',
    'Members suspected (closed connection or silence)',
    c('suspicions'),
  )
  counter(
    registry,
    'meshcast_silences_total',
    'Members silent past suspectAfter and asked directly whether alive (those that did not answer are suspicions too)',
    c('silences'),
  )
  counter(registry, 'meshcast_bus_messages_sent_total', 'Cluster bus messages this node sent', c('busSent'))
  counter(
    registry,
    'meshcast_bus_messages_received_total',
    'Cluster bus messages delivered to this node (in order, once each)',
    c('busDelivered'),
  )
  counter(
    registry,
    'meshcast_bus_messages_retransmitted_total',
    'Cluster bus messages this node sent again on a retransmission request',
    c('retransmitted'),
  )
  counter(
    registry,
    'meshcast_bus_messages_lost_total',
    'Cluster bus messages given up as lost (gap events: the sender no longer held them)',
    c('gapsLost'),
  )
  labelledCounter(
    registry,
    'meshcast_mesh_messages_dropped_total',
    'Inbound mesh messages dropped, by reason (malformed, duplicate, stale heartbeat, no handler, …)',
    'reason',
    () => Object.entries(mesh.counters().dropped),
  )
}

function addPulls(registry: Registry, pulls: NonNullable<MetricsSources['pulls']>): void {
  gauge(registry, 'meshcast_pulls_active', 'Streams this node pulls from an upstream now', () =>
    pulls.active(),
  )
  counter(
    registry,
    'meshcast_pulls_started_total',
    'Pulls that got their first upstream',
    () => pulls.counters().started,
  )
  counter(
    registry,
    'meshcast_pulls_failed_total',
    'Attempts to pull a stream from an upstream that failed (refused, timed out, no media)',
    () => pulls.counters().failed,
  )
  counter(
    registry,
    'meshcast_pull_failovers_total',
    'Switches to another upstream after losing one or after its advert was withdrawn (preferred-origin upgrades not counted)',
    () => pulls.counters().failovers,
  )
  counter(
    registry,
    'meshcast_pull_ignored_copies_total',
    "Copies of a pulled stream from another publisher (or redundancy group) than the pull's owner, left unused",
    () => pulls.counters().ignoredCopies,
  )
}
