import type { Role } from '@meshcast/interface'
import { type CancellableContext, guarded } from '../fixture.ts'
import { loopbackSubnet, uniquePassword } from '../loopback.ts'
import { MeshPeer } from './mesh-peer.ts'
import type { PeerReport } from './protocol.ts'

export interface AddPeerOptions {
  role?: Role
  note?: string
  quiet?: boolean
  /** extra `MeshInit` fields (timings, limits) */
  mesh?: Record<string, unknown>
}

/**
 * Bare mesh peers of one test on loopback: each on its own 127.x address
 * at the default mesh port, sharing a password no other test uses, mDNS
 * off (it would leak onto the LAN), every peer seeded with the first.
 */
export class PeerGroup {
  readonly password = uniquePassword()
  readonly peers: MeshPeer[] = []
  readonly #address = loopbackSubnet()

  address(index: number): string {
    return this.#address(index)
  }

  /** Starts a peer; resolves once its mesh has joined. */
  async add(opts: AddPeerOptions = {}): Promise<MeshPeer> {
    const index = this.peers.length
    const host = this.address(index)
    const peer = new MeshPeer(`peer-${index}`, {
      mesh: {
        password: this.password,
        host,
        port: 7800,
        mdns: false,
        seeds: index === 0 ? [] : [{ host: this.address(0), port: 7800 }],
        self: {
          role: opts.role ?? 'origin',
          publicIp: host,
          publicPort: 1935,
          http: `${host}:5080`,
          privateInstance: false,
        },
        ...opts.mesh,
      },
      ...(opts.note === undefined ? {} : { note: opts.note }),
      ...(opts.quiet === undefined ? {} : { quiet: opts.quiet }),
    })
    this.peers.push(peer)
    await peer.started
    return peer
  }

  async addMany(count: number, opts: AddPeerOptions = {}): Promise<MeshPeer[]> {
    const first = this.peers.length === 0 ? [await this.add(opts)] : []
    return [
      ...first,
      ...(await Promise.all(Array.from({ length: count - first.length }, () => this.add(opts)))),
    ]
  }

  reports(peers: readonly MeshPeer[] = this.peers): Promise<PeerReport[]> {
    return Promise.all(peers.map((p) => p.report()))
  }

  /** Every peer's last log lines, for a failed test. */
  async logs(): Promise<string> {
    const parts = await Promise.all(
      this.peers.map(async (p) => {
        // what the log does not say: where each sender's stream stands, and the counters
        const r = await p.report().catch(() => null)
        const state =
          r === null
            ? '(no report)'
            : JSON.stringify({ view: r.view.id, received: r.received, gaps: r.gaps, counters: r.counters })
        return `----- ${p.name} -----\n${await p.logTail()}\n${state}`
      }),
    )
    return parts.join('\n')
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.peers.map((p) => p.stop()))
  }
}

/** Wraps a test body with a fresh PeerGroup: logs on failure, always stops the peers. */
export function withPeers<T extends CancellableContext>(
  body: (group: PeerGroup, t: T) => Promise<void>,
): (t: T) => Promise<void> {
  return async (t: T) => {
    const group = new PeerGroup()
    await guarded(t, { report: () => group.logs(), teardown: () => group.stopAll() }, () => body(group, t))
  }
}
