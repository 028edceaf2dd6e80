import { formatAddress, type HostPort, type Role } from '@meshcast/interface'

export interface ListenerStatus {
  address: string
  up: boolean
}

/** The body of `GET /api/status`. */
export interface NodeStatus {
  id: string
  role: Role
  version: string
  startedAt: string
  uptime: number
  ready: boolean
  listeners: Record<string, ListenerStatus>
}

export interface StatusSource {
  id: string
  role: Role
  version: string
  startedAt: number
  listeners: Record<string, HostPort>
  up: ReadonlySet<string>
}

export function nodeStatus(src: StatusSource, now = Date.now()): NodeStatus {
  const names = Object.keys(src.listeners)
  const listeners: Record<string, ListenerStatus> = {}
  for (const name of names) {
    const address = src.listeners[name] as HostPort
    listeners[name] = { address: formatAddress(address), up: src.up.has(name) }
  }
  return {
    id: src.id,
    role: src.role,
    version: src.version,
    startedAt: new Date(src.startedAt).toISOString(),
    uptime: Math.round((now - src.startedAt) / 100) / 10,
    ready: names.every((n) => src.up.has(n)),
    listeners,
  }
}
