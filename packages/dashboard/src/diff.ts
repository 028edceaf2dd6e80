import type {
  BusRates,
  DashboardCarrier,
  DashboardEvent,
  DashboardMember,
  DashboardSnapshot,
} from './types.ts'

/** The first 8 characters of a node id after its common `12D3KooW` prefix, as the page shows it. */
export function shortId(id: string): string {
  return (id.startsWith('12D3KooW') ? id.slice(8) : id).slice(0, 8)
}

/**
 * The address of the origin outside the mesh an upstream id names
 * (`rtmp://host:port`, how meshcast's adverts end a chain fed by a foreign
 * origin such as nginx-rtmp), or null for a member's id.
 */
export function foreignOrigin(id: string): string | null {
  return id.startsWith('rtmp://') ? id.slice('rtmp://'.length) : null
}

function memberName(m: DashboardMember | undefined, id: string): string {
  return m === undefined ? shortId(id) : `${m.role} ${shortId(id)}`
}

/**
 * What changed between two snapshots, as event-log lines: members that
 * joined or left, a new coordinator, streams that appeared or ended, and
 * for every node that pulls, a pull started, an upstream switch (a
 * failover) or a pull that ended. No I/O: the only state is `ended`, which
 * it updates, so the log reads the same on every node that saw the change.
 */
export function diffSnapshots(
  prev: DashboardSnapshot,
  next: DashboardSnapshot,
  ended: EndedPulls = new Map(),
): DashboardEvent[] {
  const at = next.at
  const out: DashboardEvent[] = []
  const before = new Map(prev.members.map((m) => [m.id, m]))
  const after = new Map(next.members.map((m) => [m.id, m]))
  const name = (id: string) => memberName(after.get(id) ?? before.get(id), id)
  for (const m of next.members)
    if (!before.has(m.id)) out.push({ at, kind: 'member', text: `${name(m.id)} joined (http ${m.http})` })
  for (const m of prev.members)
    if (!after.has(m.id)) out.push({ at, kind: 'member', text: `${name(m.id)} left` })
  const coordBefore = prev.members.find((m) => m.coordinator)?.id
  const coordAfter = next.members.find((m) => m.coordinator)?.id
  if (coordAfter !== undefined && coordBefore !== undefined && coordAfter !== coordBefore)
    out.push({ at, kind: 'coordinator', text: `${name(coordAfter)} is the coordinator now` })
  const streamsBefore = new Map(prev.streams.map((s) => [s.path, s]))
  const streamsAfter = new Map(next.streams.map((s) => [s.path, s]))
  for (const s of next.streams) {
    const published = s.carriers.filter((c) => c.source === 'publish').map((c) => c.node)
    const wasPublished = new Set(
      (streamsBefore.get(s.path)?.carriers ?? []).filter((c) => c.source === 'publish').map((c) => c.node),
    )
    for (const node of published)
      if (!wasPublished.has(node))
        out.push({ at, kind: 'stream', text: `${s.path} published on ${name(node)}` })
  }
  for (const s of prev.streams) {
    const now = new Set(
      (streamsAfter.get(s.path)?.carriers ?? []).filter((c) => c.source === 'publish').map((c) => c.node),
    )
    for (const c of s.carriers)
      if (c.source === 'publish' && !now.has(c.node))
        out.push({ at, kind: 'stream', text: `${s.path} no longer published on ${name(c.node)}` })
  }
  out.push(...pullEvents(prev, next, name, ended))
  return out
}

/**
 * Pulls that ended lately, by `node path`, with the upstream they had: an
 * edge's advert vanishes while it reconnects, so a pull that comes back
 * from another upstream is a failover, not a new pull. The caller keeps it
 * between diffs and forgets old entries (`forgetEnded`).
 */
export type EndedPulls = Map<string, { upstream: string | null; at: number }>

/** How long an ended pull is remembered for the failover check. */
export const ENDED_PULL_MEMORY_MS = 30_000

export function forgetEnded(ended: EndedPulls, now: number): void {
  for (const [key, e] of ended) if (now - e.at > ENDED_PULL_MEMORY_MS) ended.delete(key)
}

function pulls(s: DashboardSnapshot): Map<string, DashboardCarrier & { path: string }> {
  const out = new Map<string, DashboardCarrier & { path: string }>()
  for (const stream of s.streams)
    for (const c of stream.carriers)
      if (c.source !== 'publish') out.set(`${c.node} ${stream.path}`, { ...c, path: stream.path })
  return out
}

function pullEvents(
  prev: DashboardSnapshot,
  next: DashboardSnapshot,
  name: (id: string) => string,
  ended: EndedPulls,
): DashboardEvent[] {
  const at = next.at
  const out: DashboardEvent[] = []
  const before = pulls(prev)
  const after = pulls(next)
  const upstreamName = (id: string | null) => {
    if (id === null) return 'nowhere'
    const foreign = foreignOrigin(id)
    return foreign === null ? name(id) : `foreign origin ${foreign}`
  }
  for (const [key, c] of after) {
    const was = before.get(key) ?? ended.get(key)
    ended.delete(key)
    if (was === undefined)
      out.push({ at, kind: 'pull', text: `${name(c.node)} pulls ${c.path} from ${upstreamName(c.upstream)}` })
    else if (was.upstream !== c.upstream)
      out.push({
        at,
        kind: 'failover',
        text: `${name(c.node)} switched ${c.path} from ${upstreamName(was.upstream)} to ${upstreamName(c.upstream)}`,
      })
  }
  for (const [key, c] of before)
    if (!after.has(key)) {
      ended.set(key, { upstream: c.upstream, at })
      out.push({
        at,
        kind: 'pull',
        text: `${name(c.node)} no longer pulls ${c.path} (it came from ${upstreamName(c.upstream)})`,
      })
    }
  return out
}

/** Bus messages per second between two snapshots (zeros when either has no bus). */
export function busRates(prev: DashboardSnapshot, next: DashboardSnapshot): BusRates {
  const a = prev.bus
  const b = next.bus
  const seconds = (next.at - prev.at) / 1000
  if (a === null || b === null || seconds <= 0) return { sent: 0, delivered: 0, retransmitted: 0, dropped: 0 }
  const rate = (x: number, y: number) => Math.max(0, Math.round((y - x) / seconds))
  return {
    sent: rate(a.sent, b.sent),
    delivered: rate(a.delivered, b.delivered),
    retransmitted: rate(a.retransmitted, b.retransmitted),
    dropped: rate(a.dropped, b.dropped),
  }
}
