import { isIPv4, isIPv6 } from 'node:net'
import { DEFAULT_RTMP_PORT } from './defaults.ts'
import { MAX_PORT, MIN_PORT, parsePort } from './parse-values.ts'
import { InvalidValueError } from './problems/invalid-value-error.ts'
import type { OriginAddress } from './types.ts'

/** RFC 1123 label: letters, digits and inner hyphens, 1 to 63 characters. */
const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i
/** RFC 1123 limit on a whole host name. */
const MAX_DNS_NAME_LENGTH = 253

const ADDRESS_HINT =
  'use an IPv4 address (203.0.113.10), an IPv6 address (2001:db8::1) or a DNS name (node1.example.com)'
const ORIGIN_HINT =
  'use host or host:port, e.g. 203.0.113.10, 203.0.113.10:1936, [2001:db8::1], [2001:db8::1]:1936 ' +
  'or origin.example.com'
const PEER_HINT =
  'use host or host:port, e.g. 203.0.113.20, 203.0.113.20:7801, 2001:db8::2, [2001:db8::2]:7801 ' +
  'or node2.example.com'

/** A `mesh.peers` entry or `--peer` value as written; `port` undefined when it names none. */
export interface PeerAddress {
  /** IPv4 address, IPv6 address (without brackets) or DNS name */
  host: string
  port: number | undefined
  /** the entry as written, surrounding whitespace removed */
  text: string
}

/** An RFC 1123 host name. */
export function isDnsName(text: string): boolean {
  if (text.length === 0 || text.length > MAX_DNS_NAME_LENGTH) return false
  const labels = text.split('.')
  // an all-digit last label is a mistyped IPv4 address (203.0.113.999), not a name
  const last = labels[labels.length - 1] ?? ''
  return labels.every((label) => DNS_LABEL.test(label)) && !/^\d+$/.test(last)
}

/** A host to listen on or advertise: IPv4, IPv6 (brackets optional) or DNS name; returned without brackets. */
export function parseHost(text: string): string {
  const trimmed = text.trim()
  if (trimmed.startsWith('[') && trimmed.endsWith(']')) {
    const inner = trimmed.slice(1, -1)
    if (isIPv6(inner)) return inner
  } else if (isIPv4(trimmed) || isIPv6(trimmed) || isDnsName(trimmed)) {
    return trimmed
  }
  throw new InvalidValueError(`is not a valid address: ${ADDRESS_HINT}`)
}

/** `0.0.0.0` or `::`: every interface, never the address of one node. */
export function isWildcardHost(host: string): boolean {
  const canonical = canonicalHost(host)
  return canonical === '0.0.0.0' || canonical === '::'
}

/** One spelling per host, so 2001:db8:0::1 and 2001:DB8::1 compare equal. */
export function canonicalHost(host: string): string {
  if (!isIPv6(host)) return host.toLowerCase()
  try {
    return new URL(`http://[${host}]/`).hostname.slice(1, -1)
  } catch {
    return host.toLowerCase() // zone ids (fe80::1%eth0) are not valid in URLs
  }
}

/** How one kind of address list (origins, peers) is described and read. */
interface AddressKind {
  /** what an entry is called in messages: `origin`, `peer` */
  noun: string
  /** what would be valid */
  hint: string
  /** whether a bare IPv6 address is read as a host without port (else brackets are required) */
  bareIPv6: boolean
}

const ORIGIN: AddressKind = { noun: 'origin', hint: ORIGIN_HINT, bareIPv6: false }
const PEER: AddressKind = { noun: 'peer', hint: PEER_HINT, bareIPv6: true }

/** Splits `host`, `host:port`, `[ipv6]` or `[ipv6]:port` (and a bare IPv6 address where allowed); port undefined when absent. */
function splitHostPort(text: string, kind: AddressKind): { host: string; port: string | undefined } {
  const bracketed = /^\[([^\]]*)\](?::(.*))?$/.exec(text)
  if (bracketed) {
    const host = bracketed[1] ?? ''
    if (!isIPv6(host)) throw new InvalidValueError(`is not a valid IPv6 address in brackets: ${kind.hint}`)
    return { host, port: bracketed[2] }
  }
  if (isIPv6(text)) {
    if (kind.bareIPv6) return { host: text, port: undefined }
    // a trailing ":1936" would read as part of the address, hence the brackets
    throw new InvalidValueError(
      `is an IPv6 address without brackets, which are required: write [${text}] or [${text}]:port`,
    )
  }
  const parts = text.split(':')
  if (parts.length > 2) throw new InvalidValueError(`is not a valid ${kind.noun} address: ${kind.hint}`)
  return { host: parts[0] ?? '', port: parts[1] }
}

/** Host and port text of one entry, the host checked: a real address of one node, not a wildcard. */
function parseEntry(text: string, kind: AddressKind): { host: string; port: string | undefined } {
  const { host, port } = splitHostPort(text, kind)
  if (!isIPv6(host) && !isIPv4(host) && !isDnsName(host)) {
    throw new InvalidValueError(`is not a valid ${kind.noun} address: ${kind.hint}`)
  }
  if (isWildcardHost(host)) {
    throw new InvalidValueError(
      `is a wildcard address (${host} means every interface), not a node: write the ${kind.noun}'s real address`,
    )
  }
  return { host, port }
}

/** One `origins` entry: `host` or `host:port`, port defaulting to 1935. */
export function parseOriginAddress(text: string): OriginAddress {
  const trimmed = text.trim()
  if (trimmed === '') throw new InvalidValueError(`is an empty origins entry: ${ORIGIN_HINT}`)
  const { host, port } = parseEntry(trimmed, ORIGIN)
  const orNone = `or no port for ${DEFAULT_RTMP_PORT}`
  return { host, port: port === undefined ? DEFAULT_RTMP_PORT : parseEntryPort(port, orNone), text: trimmed }
}

/**
 * One `mesh.peers` entry or `--peer` value: `host`, `host:port`, `[ipv6]`,
 * `[ipv6]:port` or a bare IPv6 address (all host, no port). The port is
 * undefined when absent: the node's mesh port applies, known only once
 * overrides are in.
 */
export function parsePeerAddress(text: string): PeerAddress {
  const trimmed = text.trim()
  if (trimmed === '') throw new InvalidValueError(`is an empty peer address: ${PEER_HINT}`)
  const { host, port } = parseEntry(trimmed, PEER)
  const orNone = "or no port for the node's mesh port (mesh.port)"
  return { host, port: port === undefined ? undefined : parseEntryPort(port, orNone), text: trimmed }
}

function parseEntryPort(text: string, orNone: string): number {
  try {
    return parsePort(text)
  } catch (err) {
    if (!(err instanceof InvalidValueError)) throw err
    throw new InvalidValueError(
      `has an invalid port "${text}": use a whole number from ${MIN_PORT} to ${MAX_PORT}, ${orNone}`,
    )
  }
}
