import { formatAddress, type HostPort } from '@meshcast/interface'
import { DEFAULT_HEAL_SECONDS, DEFAULT_MDNS } from '../defaults.ts'
import { canonicalHost, type PeerAddress, parsePeerAddress } from '../parse-address.ts'
import type { ProblemList, ProblemPlace } from '../problems/problem-list.ts'

/** The red5.properties key of the peer list. */
export const PEERS_KEY = 'mesh.peers'

/** Peer addresses as written, before the mesh port (which overrides may change) is known. */
export interface PeerList {
  entries: PeerAddress[]
  /** where warnings about the list start: `file:line`, or `command line` */
  where: string
  /** what one entry is called in warnings: `mesh.peers entry`, `--peer` */
  label: string
}

/** Discovery settings as read from red5.properties or the command line. */
export interface DiscoveryReading {
  mdns: boolean
  peers: PeerList
  healSeconds: number
  profile: 'lan' | 'wan'
}

/** What an absent red5.properties (or absent keys) means. */
export function defaultDiscovery(): DiscoveryReading {
  return {
    mdns: DEFAULT_MDNS,
    peers: { entries: [], where: '', label: `${PEERS_KEY} entry` },
    healSeconds: DEFAULT_HEAL_SECONDS,
    profile: 'lan',
  }
}

/**
 * Reads a `mesh.peers` value: comma-separated addresses, an empty value
 * meaning none. An empty entry (`a,,b`, a trailing comma) and each bad
 * address are problems at `place`; the good entries are kept.
 */
export function readPeerList(place: ProblemPlace, problems: ProblemList): PeerAddress[] {
  const text = place.value ?? ''
  if (text.trim() === '') return []
  const parts = text.split(',')
  if (parts.some((part) => part.trim() === '')) {
    const message = 'has an empty entry: remove the extra comma (an empty value means no peers)'
    problems.add({ ...place, message })
  }
  const entries: PeerAddress[] = []
  for (const part of parts) {
    if (part.trim() === '') continue
    const entry = problems.check({ ...place, value: part.trim() }, () => parsePeerAddress(part), undefined)
    if (entry !== undefined) entries.push(entry)
  }
  return entries
}

/**
 * Gives entries without a port the mesh port, and drops repeats (same host
 * and port however written, e.g. `10.0.0.2` and `10.0.0.2:7800` when the
 * mesh port is 7800) with a warning each.
 */
export function resolvePeers(list: PeerList, meshPort: number): { peers: HostPort[]; warnings: string[] } {
  const peers: HostPort[] = []
  const warnings: string[] = []
  const seen = new Map<string, PeerAddress>()
  for (const entry of list.entries) {
    const peer = { host: entry.host, port: entry.port ?? meshPort }
    const key = formatAddress({ host: canonicalHost(peer.host), port: peer.port })
    const first = seen.get(key)
    if (first === undefined) {
      seen.set(key, entry)
      peers.push(peer)
    } else {
      warnings.push(
        `${list.where}: ${list.label} "${entry.text}" repeats "${first.text}" (both ${key}); the repeat is ignored`,
      )
    }
  }
  return { peers, warnings }
}
