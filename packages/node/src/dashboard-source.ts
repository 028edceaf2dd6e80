import type { StreamBook } from '@meshcast/cluster'
import type {
  DashboardCarrier,
  DashboardMember,
  DashboardSnapshot,
  DashboardSource,
  DashboardStream,
} from '@meshcast/dashboard'
import { formatAddress, type Role } from '@meshcast/interface'
import type { MediaServer } from '@meshcast/media'
import type { Mesh } from '@meshcast/mesh'

/**
 * Drops that are no sign of trouble: a heartbeat that came by its link and
 * again by gossip, or an older one after a newer one. `/metrics` has them
 * by reason; the dashboard's "dropped" counts only the rest.
 */
const ROUTINE_DROPS = new Set(['repeatedHeartbeat', 'staleHeartbeat'])

export interface DashboardParts {
  id: string
  role: Role
  http: string
  rtmp: string
  media: MediaServer
  /** null on a standalone node */
  mesh: Mesh | null
  /** the media plane's book of every stream in the cluster; null on a standalone node */
  book: StreamBook | null
  /** the node's risky settings, shown at the top of the page */
  warnings: readonly string[]
}

/**
 * The dashboard's picture of the cluster from this node: the view with
 * each member's record, and every stream from the stream book (the members'
 * adverts). A standalone node shows itself and its own streams.
 */
export function dashboardSource(parts: DashboardParts): DashboardSource {
  return {
    snapshot: () =>
      parts.mesh === null || parts.book === null
        ? standalone(parts)
        : clustered(parts, parts.mesh, parts.book),
    onChange: (listener) => {
      const { mesh, media } = parts
      const names = ['publish', 'unpublish', 'play', 'stop'] as const
      const unhook = [
        ...names.map((n) => media.events.on(n, listener)),
        ...(mesh === null ? [] : [mesh.events.on('view', listener), mesh.events.on('member', listener)]),
      ]
      return () => {
        for (const off of unhook) off()
      }
    },
  }
}

function clustered(parts: DashboardParts, mesh: Mesh, book: StreamBook): DashboardSnapshot {
  const members: DashboardMember[] = mesh.members().map((m) => ({
    id: m.id,
    role: m.role,
    coordinator: m.coordinator,
    privateInstance: m.privateInstance,
    self: m.self,
    http: m.http,
    rtmp: formatAddress({ host: m.publicIp, port: m.publicPort }),
    joinedAt: m.joinedAt,
    lastHeard: m.lastHeard,
    suspect: m.suspect,
    subscribers: m.load.subscribers,
    streams: m.load.streams,
  }))
  const streams: DashboardStream[] = book.paths().map((path) => {
    const carriers = book.carriers(path)
    const first = carriers.find((c) => c.advert.source === 'publish') ?? carriers[0]
    return {
      path,
      video: first?.advert.video ?? null,
      audio: first?.advert.audio ?? null,
      carriers: carriers
        .map(
          (c): DashboardCarrier => ({
            node: c.member.id,
            source: c.advert.source,
            upstream: c.advert.via[0] ?? null,
            subscribers: c.advert.subscribers,
            kbps: c.advert.kbps,
          }),
        )
        // published first, then the chain outwards
        .sort((a, b) => rank(a) - rank(b)),
    }
  })
  const c = mesh.counters()
  return {
    at: Date.now(),
    self: parts.id,
    viewId: mesh.view.id,
    members,
    streams,
    bus: {
      sent: c.busSent,
      delivered: c.busDelivered,
      retransmitted: c.retransmitted,
      dropped: Object.entries(c.dropped)
        .filter(([reason]) => !ROUTINE_DROPS.has(reason))
        .reduce((n, [, v]) => n + v, 0),
      gapsLost: c.gapsLost,
    },
    warnings: [...parts.warnings],
  }
}

function rank(c: DashboardCarrier): number {
  return c.source === 'publish' ? 0 : c.source === 'relay' ? 1 : 2
}

function standalone(parts: DashboardParts): DashboardSnapshot {
  const now = Date.now()
  const streams = parts.media.streams().filter((s) => s.state === 'live')
  return {
    at: now,
    self: parts.id,
    viewId: null,
    members: [
      {
        id: parts.id,
        role: parts.role,
        coordinator: false,
        privateInstance: false,
        self: true,
        http: parts.http,
        rtmp: parts.rtmp,
        joinedAt: now,
        lastHeard: now,
        suspect: null,
        subscribers: streams.reduce((n, s) => n + s.subscribers, 0),
        streams: streams.length,
      },
    ],
    streams: streams.map((s) => ({
      path: s.path,
      video: null,
      audio: null,
      carriers: [
        { node: parts.id, source: 'publish', upstream: null, subscribers: s.subscribers, kbps: null },
      ],
    })),
    bus: null,
    warnings: [...parts.warnings],
  }
}
