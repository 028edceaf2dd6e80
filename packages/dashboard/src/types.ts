/**
 * What the dashboard shows: one picture of the cluster as the node serving
 * the page sees it. The daemon builds it (`DashboardSource`); the page gets
 * it as JSON, so every field is plain data.
 */

/** One member of the view. */
export interface DashboardMember {
  id: string
  role: string
  coordinator: boolean
  privateInstance: boolean
  /** the node serving the page */
  self: boolean
  /** `host:port` of its HTTP side (its own dashboard) */
  http: string
  /** `host:port` players are routed to */
  rtmp: string
  /** ms since the epoch: joined this view / last heartbeat heard */
  joinedAt: number
  lastHeard: number
  /** why it is suspected, or null */
  suspect: string | null
  /** players it serves and streams it has, from its load figures */
  subscribers: number
  streams: number
}

/** One node that has a stream. */
export interface DashboardCarrier {
  node: string
  /** `publish` (published there), `relay` or `edge` (pulled) */
  source: string
  /** the node it pulls from (`rtmp://host:port`: a foreign origin, not on the mesh); null when published there */
  upstream: string | null
  subscribers: number
  /** incoming bitrate there, kbit/s; null when unknown */
  kbps: number | null
}

export interface DashboardStream {
  /** `/app/name` */
  path: string
  video: string | null
  audio: string | null
  carriers: DashboardCarrier[]
}

/** The bus counters of the node serving the page (cumulative). */
export interface DashboardBus {
  sent: number
  delivered: number
  retransmitted: number
  dropped: number
  gapsLost: number
}

export interface DashboardSnapshot {
  /** ms since the epoch when it was taken */
  at: number
  /** id of the node serving the page */
  self: string
  /** null on a standalone node */
  viewId: string | null
  members: DashboardMember[]
  streams: DashboardStream[]
  /** null on a standalone node */
  bus: DashboardBus | null
  /** risky settings of the node serving the page (the default cluster password, …) */
  warnings: string[]
}

/** Something that happened, for the event log: a member, a stream, a pull, a failover. */
export interface DashboardEvent {
  at: number
  kind: 'member' | 'coordinator' | 'stream' | 'pull' | 'failover'
  text: string
}

/** Bus messages per second between two snapshots. */
export interface BusRates {
  sent: number
  delivered: number
  retransmitted: number
  dropped: number
}

/** What the daemon gives the dashboard. */
export interface DashboardSource {
  snapshot(): DashboardSnapshot
  /** calls `listener` when something shown changed (to update at once); returns the unsubscribe */
  onChange?(listener: () => void): () => void
}
