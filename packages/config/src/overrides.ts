import { type PeerAddress, parseHost, parsePeerAddress } from './parse-address.ts'
import { parsePort } from './parse-values.ts'
import { InvalidValueError } from './problems/invalid-value-error.ts'
import type { ProblemList } from './problems/problem-list.ts'
import type { DiscoveryReading } from './red5-properties/discovery.ts'
import { copyListeners } from './red5-properties/parse-red5-properties.ts'
import type { ConfigOverrides, Listeners } from './types.ts'

/** The `file` of problems about command-line values. */
export const COMMAND_LINE = 'command line'

/** Each port override, the listener it sets and the flag the user typed. */
const PORT_OVERRIDES = [
  ['httpPort', 'http', '--http-port'],
  ['rtmpPort', 'rtmp', '--rtmp-port'],
  ['meshPort', 'mesh', '--mesh-port'],
] as const

/** Applies command-line values over the listeners; bad values become problems and leave the listener as it was. */
export function applyOverrides(
  listeners: Listeners,
  overrides: ConfigOverrides,
  problems: ProblemList,
): Listeners {
  const result = copyListeners(listeners)
  const { host } = overrides
  if (host !== undefined) {
    const place = { file: COMMAND_LINE, property: '--host', value: host }
    const parsed = problems.check(place, () => parseHost(host), undefined)
    if (parsed !== undefined) {
      for (const address of [result.http, result.rtmp, result.mesh]) address.host = parsed
    }
  }
  for (const [option, listener, flag] of PORT_OVERRIDES) {
    const text = overrides[option]
    if (text === undefined) continue
    const place = { file: COMMAND_LINE, property: flag, value: text }
    result[listener].port = problems.check(place, () => parsePort(text), result[listener].port)
  }
  return result
}

/** The flag that adds a peer; repeatable. */
const PEER_FLAG = '--peer'

/** One `--peer` value: one address, read like a `mesh.peers` entry. */
function parsePeerFlag(text: string): PeerAddress {
  if (text.includes(',')) {
    throw new InvalidValueError(`holds several addresses: give each one its own ${PEER_FLAG}`)
  }
  return parsePeerAddress(text)
}

/**
 * Applies `mdns` and `peers` over the discovery settings read from
 * red5.properties. Given peers replace the file's list entirely; a bad one
 * becomes a problem and is left out.
 */
export function applyDiscoveryOverrides(
  discovery: DiscoveryReading,
  overrides: ConfigOverrides,
  problems: ProblemList,
): DiscoveryReading {
  const mdns = overrides.mdns ?? discovery.mdns
  if (overrides.peers === undefined) return { ...discovery, mdns }
  const entries: PeerAddress[] = []
  for (const text of overrides.peers) {
    const place = { file: COMMAND_LINE, property: PEER_FLAG, value: text }
    const entry = problems.check(place, () => parsePeerFlag(text), undefined)
    if (entry !== undefined) entries.push(entry)
  }
  return { ...discovery, mdns, peers: { entries, where: COMMAND_LINE, label: PEER_FLAG } }
}
