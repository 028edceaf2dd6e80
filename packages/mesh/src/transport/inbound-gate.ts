import type { ConnectionGater, MultiaddrConnection } from '@libp2p/interface'
import { PerAddress } from '@meshcast/interface'

/** What one remote address may hold on the mesh port; 0: no limit. */
export interface InboundLimits {
  /** inbound connections open at once */
  connectionsPerIp: number
  /** of them, still short of the private-network and noise handshakes */
  pendingPerIp: number
}

export const DEFAULT_INBOUND_LIMITS: InboundLimits = { connectionsPerIp: 64, pendingPerIp: 16 }

export type InboundRefusal = 'connectionsPerIp' | 'pendingPerIp'

/** The host of a connection's remote multiaddr (`/ip4/1.2.3.4/tcp/…` → `1.2.3.4`). */
function hostOf(maConn: MultiaddrConnection): string | undefined {
  return maConn.remoteAddr.getComponents().find((c) => c.name === 'ip4' || c.name === 'ip6')?.value
}

/**
 * Caps what one address may hold on the mesh port, as a libp2p connection
 * gater. libp2p caps connections still in their handshakes for everyone
 * together (256): without this, one address holding silent connections
 * would take every place, and a member rejoining then would be refused until
 * the upgrade timeout freed one. A connection through its handshakes has
 * shown the cluster's key, so it leaves the pending count; it stays in the
 * open count until it closes. Members on one host share an address (nodes
 * listening on a wildcard dial from the host's), hence the generous open cap.
 */
export class InboundGate implements ConnectionGater {
  readonly #open: PerAddress
  readonly #pending: PerAddress
  readonly #refused: (kind: InboundRefusal, remote: string, detail: string) => void
  /** connections still counted as pending, and their address */
  readonly #handshaking = new Map<MultiaddrConnection, string | undefined>()

  constructor(
    limits: InboundLimits,
    refused: (kind: InboundRefusal, remote: string, detail: string) => void,
  ) {
    this.#open = new PerAddress(limits.connectionsPerIp)
    this.#pending = new PerAddress(limits.pendingPerIp)
    this.#refused = refused
  }

  denyInboundConnection(maConn: MultiaddrConnection): boolean {
    const host = hostOf(maConn)
    const remote = String(maConn.remoteAddr)
    if (!this.#open.take(host)) {
      const detail = `the address holds ${this.#open.cap} mesh connections already (mesh.max_connections_per_ip)`
      this.#refused('connectionsPerIp', remote, detail)
      return true
    }
    if (!this.#pending.take(host)) {
      this.#open.give(host)
      const detail = `the address has ${this.#pending.cap} mesh connections in their handshakes already (mesh.max_pending_per_ip)`
      this.#refused('pendingPerIp', remote, detail)
      return true
    }
    this.#handshaking.set(maConn, host)
    maConn.addEventListener(
      'close',
      () => {
        this.#endHandshake(maConn)
        this.#open.give(host)
      },
      { once: true },
    )
    return false
  }

  denyInboundEncryptedConnection(_peer: unknown, maConn: MultiaddrConnection): boolean {
    this.#endHandshake(maConn)
    return false
  }

  /** Places `host` holds now: open, and pending (for tests). */
  held(host: string): { open: number; pending: number } {
    return { open: this.#open.held(host), pending: this.#pending.held(host) }
  }

  #endHandshake(maConn: MultiaddrConnection): void {
    if (!this.#handshaking.has(maConn)) return
    this.#pending.give(this.#handshaking.get(maConn))
    this.#handshaking.delete(maConn)
  }
}
