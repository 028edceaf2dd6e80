import { formatHost, isEdgeRole, isStreamPath, type Member } from '@meshcast/interface'
import { isDraining } from './draining.ts'
import type { StreamBook } from './stream-book.ts'

/** Where a client is sent: a node's public RTMP address. */
export interface Route {
  host: string
  port: number
  rtmpUrl: string
  nodeId: string
  role: Member['role']
}

export type RouteResult = { ok: true; route: Route } | { ok: false; status: 400 | 503; message: string }

/** `app/name` or `/app/name` → `/app/name`, or null when it is not a stream path. */
export function normaliseStreamParam(value: string): string | null {
  const path = value.startsWith('/') ? value : `/${value}`
  return isStreamPath(path) ? path : null
}

function route(m: Member, path: string | null): Route {
  const host = formatHost(m.publicIp)
  return {
    host: m.publicIp,
    port: m.publicPort,
    rtmpUrl: `rtmp://${host}:${m.publicPort}${path ?? ''}`,
    nodeId: m.id,
    role: m.role,
  }
}

/**
 * Red5 Pro's round-robin servlet (`GET /cluster`): each call names the next
 * public node in turn. With a stream, meshcast routes to a node that
 * already has it (least loaded), else to one that can get it: an edge or a
 * relay (they pull on demand), least loaded. A node shutting down (draining)
 * is never named: it would refuse the client, or drop it within seconds.
 */
export class RoundRobin {
  #turn = 0

  next(members: readonly Member[], book: StreamBook, stream?: string): RouteResult {
    const open = members.filter((m) => !m.privateInstance && !isDraining(m))
    if (stream === undefined) {
      if (open.length === 0)
        return { ok: false, status: 503, message: 'no public node in the cluster (or all are shutting down)' }
      const m = open[this.#turn++ % open.length] as Member
      return { ok: true, route: route(m, null) }
    }
    const path = normaliseStreamParam(stream)
    if (path === null)
      return {
        ok: false,
        status: 400,
        message: `bad stream ${JSON.stringify(stream.slice(0, 300))}: expected app/name (letters, digits, _ and -)`,
      }
    // the caller's records, not the book's copies: their load is current and their address filled in
    const byId = new Map(open.map((m) => [m.id, m]))
    const having = book
      .carriers(path)
      .map((c) => byId.get(c.member.id))
      .filter((m) => m !== undefined)
    const candidates = having.length > 0 ? having : open.filter((m) => isEdgeRole(m.role))
    if (candidates.length === 0)
      return {
        ok: false,
        status: 503,
        message:
          book.upstreams(path).length === 0
            ? `stream ${path} is not published in the cluster, and no public edge could wait for it`
            : `no public node can serve stream ${path}`,
      }
    // least loaded; equals take turns, since load figures lag by a heartbeat
    const least = Math.min(...candidates.map((m) => m.load.subscribers))
    const ties = candidates.filter((m) => m.load.subscribers === least).sort((a, b) => (a.id < b.id ? -1 : 1))
    return { ok: true, route: route(ties[this.#turn++ % ties.length] as Member, path) }
  }
}
