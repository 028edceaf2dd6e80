import type { DashboardMember, DashboardSnapshot, DashboardStream } from '../src/index.ts'

export function member(id: string, role: string, extra: Partial<DashboardMember> = {}): DashboardMember {
  return {
    id,
    role,
    coordinator: false,
    privateInstance: false,
    self: false,
    http: `${id}:5080`,
    rtmp: `${id}:1935`,
    joinedAt: 0,
    lastHeard: 0,
    suspect: null,
    subscribers: 0,
    streams: 0,
    ...extra,
  }
}

export function snapshot(
  at: number,
  members: DashboardMember[],
  streams: DashboardStream[] = [],
  sent = 0,
): DashboardSnapshot {
  return {
    at,
    self: members[0]?.id ?? 'self',
    viewId: 'v:1',
    members,
    streams,
    bus: { sent, delivered: sent, retransmitted: 0, dropped: 0, gapsLost: 0 },
    warnings: [],
  }
}

/** `/live/a` published on `origin`, pulled by each `[edge, upstream]`. */
export function stream(origin: string, pulls: [string, string | null][] = []): DashboardStream {
  return {
    path: '/live/a',
    video: 'H264',
    audio: 'AAC',
    carriers: [
      { node: origin, source: 'publish', upstream: null, subscribers: 0, kbps: 900 },
      ...pulls.map(([node, upstream]) => ({ node, source: 'edge', upstream, subscribers: 1, kbps: 900 })),
    ],
  }
}
