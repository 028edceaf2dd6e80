import type { NodeConfig } from '@meshcast/config'
import { isWildcard, type Member } from '@meshcast/interface'
import { parseHostPort } from '@meshcast/mesh'
import { announced } from '../addresses.ts'

/**
 * Where this node reaches each member's RTMP. A member that announces a
 * wildcard `publicIp` (a zero-config LAN) is reached at the address its mesh
 * connection comes from; this node itself at its configured host, else at
 * the address a request came in on.
 */
export class Reachable {
  readonly #config: NodeConfig
  readonly #id: string
  readonly #peerHost: (id: string) => string | null

  constructor(config: NodeConfig, id: string, peerHost: (id: string) => string | null) {
    this.#config = config
    this.#id = id
    this.#peerHost = peerHost
  }

  /** `m`, its wildcard publicIp replaced by where it is reached (`asked`: the local address a request came in on). */
  member(m: Member, asked?: string): Member {
    if (!isWildcard(m.publicIp)) return m
    const host = m.id === this.#id ? this.#selfHost(asked) : this.#peerHost(m.id)
    return host === null ? m : { ...m, publicIp: host }
  }

  /** Where a client reaches this node: its configured host, else (every setting a wildcard) the address it came in on. */
  #selfHost(asked: string | undefined): string | null {
    const host = announced(this.#config).rtmpHost
    if (!isWildcard(host)) return host
    if (asked === undefined || asked === '') return null
    // an IPv4 client on a dual-stack socket shows as ::ffff:a.b.c.d
    return asked.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '')
  }
}

/** Where members connect from, as far as their records say: their mesh host and their public RTMP host. */
export function memberAddresses(members: readonly Member[]): string[] {
  const hosts = members.flatMap((m) => [parseHostPort(m.mesh)?.host ?? '', m.publicIp])
  return hosts.filter((h) => h !== '' && !isWildcard(h))
}
