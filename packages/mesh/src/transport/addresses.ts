import { isIP } from 'node:net'
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr'

/** The multiaddr of a TCP `host:port` (IPv4, IPv6 or DNS name). */
export function tcpAddr(host: string, port: number, peerId?: string): Multiaddr {
  const kind = isIP(host)
  const proto = kind === 4 ? 'ip4' : kind === 6 ? 'ip6' : 'dns'
  return multiaddr(`/${proto}/${host}/tcp/${port}${peerId === undefined ? '' : `/p2p/${peerId}`}`)
}

/** Parses `host:port` / `[v6]:port` as written by `formatAddress`; null when it is not. */
export function parseHostPort(text: string): { host: string; port: number } | null {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(text) ?? /^([^:]+):(\d{1,5})$/.exec(text)
  if (m === null) return null
  const port = Number(m[2])
  if (port < 1 || port > 65535) return null
  return { host: m[1] as string, port }
}
