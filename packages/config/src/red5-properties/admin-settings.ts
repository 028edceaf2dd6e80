import { isWildcard } from '@meshcast/interface'
import { parseHost } from '../parse-address.ts'
import { parsePortOrOff } from '../parse-values.ts'
import type { ProblemList, ProblemPlace } from '../problems/problem-list.ts'
import type { AdminSettings, ListenAddress } from '../types.ts'

/** The control plane's own listener: off unless `admin.port` is set. */
export const ADMIN_LISTENER_KEYS = ['admin.host', 'admin.port'] as const

/** A private interface by default: the point of the admin listener is to keep admin off the public one. */
export const DEFAULT_ADMIN_HOST = '127.0.0.1'

/** What `http.admin.token`, `admin.host` and `admin.port` say, as written. */
export interface AdminReading {
  token: string | null
  host: string
  /** 0: no admin listener */
  port: number
  portPlace: ProblemPlace | undefined
}

export function defaultAdminReading(): AdminReading {
  return { token: null, host: DEFAULT_ADMIN_HOST, port: 0, portPlace: undefined }
}

export function isAdminListenerKey(key: string): boolean {
  return (ADMIN_LISTENER_KEYS as readonly string[]).includes(key)
}

/** Records `admin.host` or `admin.port`; a bad value is a problem and keeps the default. */
export function readAdminListenerKey(
  reading: AdminReading,
  key: string,
  place: ProblemPlace,
  problems: ProblemList,
): void {
  const text = (place.value ?? '').trim()
  if (key === 'admin.host') reading.host = problems.check(place, () => parseHost(text), reading.host)
  else {
    reading.port = problems.check(place, () => parsePortOrOff(text), 0)
    reading.portPlace = place
  }
}

/**
 * The settings the node uses: an admin listener that would share an address
 * with another listener (the same port on the same host, or either a
 * wildcard) is a problem, as its bind would fail at start.
 */
export function resolveAdmin(
  reading: AdminReading,
  others: readonly { name: string; address: ListenAddress | null }[],
  problems: ProblemList,
): AdminSettings {
  if (reading.port === 0) return { token: reading.token, listener: null }
  const listener = { host: reading.host, port: reading.port }
  const clash = others.find(
    ({ address }) =>
      address !== null &&
      address.port === listener.port &&
      (address.host === listener.host || isWildcard(address.host) || isWildcard(listener.host)),
  )
  if (clash !== undefined && reading.portPlace !== undefined)
    problems.add({
      ...reading.portPlace,
      message: `is ${clash.name}'s port on the same address: give the admin listener a port of its own`,
    })
  return { token: reading.token, listener }
}
