import type { SafeEmitter } from '@meshcast/interface'
import type { DropReason } from '../wire/codec.ts'
import type { DirectFrame } from '../wire/frames.ts'
import type { DirectHandler } from './direct.ts'

/** A `host:port` the mesh dials. */
export interface Seed {
  host: string
  port: number
}

/** The two kinds of long-lived link to each member: bus batches, and heartbeats with leave notices. */
export type LinkPath = 'bus' | 'heartbeat'

export interface TransportEvents {
  /** the first connection to `peer` opened */
  connect: string
  /** the last connection to `peer` closed */
  disconnect: string
  /** local discovery (mDNS) found `peer`; it can be dialled by id */
  discovered: string
  /** a frame on a gossip topic */
  topic: { topic: string; data: Uint8Array }
  /** a peer's topic subscriptions changed: gossip may reach further now */
  subscribed: undefined
}

/** Why the transport refused something before the mesh saw it. */
export type TransportDrop = DropReason | 'foreign' | 'otherPassword' | 'connectionsPerIp' | 'pendingPerIp'

/** What the transport hands up to the mesh. */
export interface TransportHandlers {
  /** a frame sent straight to this node: returns the reply, or null for none */
  direct: DirectHandler
  /** a frame from `peer` on one of its links (decoded and checked by the mesh) */
  link: (path: LinkPath, peer: string, bytes: Uint8Array) => void
  /** something refused before decoding: counted and logged by the mesh */
  dropped: (reason: TransportDrop, detail: string, fields: Record<string, unknown>) => void
}

/**
 * What the mesh asks of the network it runs on (the ports of memberlist's
 * `Transport`, at the level the mesh speaks): connections by address or by
 * member id, gossip on a topic, one-off exchanges with one member, and a
 * link per member for each LinkPath. Libp2pTransport is the real one; the
 * simulator's MemoryTransport (src/sim) delays, drops, partitions and
 * pauses on a virtual clock. Member ids are the transport's peer ids.
 */
export interface MeshTransport {
  /** this node's peer id: its member id */
  readonly id: string
  readonly events: SafeEmitter<TransportEvents>
  /** starts listening; a listen failure is a ListenError */
  start(handlers: TransportHandlers): Promise<void>
  stop(): Promise<void>

  /** peers with a connection to this node now */
  connectedPeers(): string[]
  isConnected(peer: string): boolean
  /** the IP address the connection to `peer` comes from, or null */
  peerHost(peer: string): string | null
  /** dials whoever of this cluster listens at `target` (only `peer`, when given); resolves with the peer reached */
  dial(target: Seed, options?: { peer?: string; signal?: AbortSignal }): Promise<string>
  /** dials `peer` at the addresses known for it */
  dialPeer(peer: string): Promise<void>
  /** records an address of `peer`, for dials and exchanges by id */
  remember(peer: string, target: Seed): void
  /** closes every connection to `peer` */
  hangUp(peer: string): Promise<void>
  /** resolves when `peer` answers a ping before `signal` ends */
  ping(peer: string, signal: AbortSignal): Promise<void>

  subscribe(topic: string): void
  publish(topic: string, frame: Uint8Array): Promise<void>

  /** one exchange with `peer`: sends `frame` and, when `expectReply`, returns its decoded answer */
  request(peer: string, frame: Uint8Array, expectReply: false): Promise<null>
  request(peer: string, frame: Uint8Array, expectReply: true): Promise<DirectFrame>
  /** sends `frame` with no answer; resolves once `peer` has handled it */
  deliver(peer: string, frame: Uint8Array, signal: AbortSignal): Promise<void>

  /** queues `frame` on each peer's link (a full or failed link drops it: the bus retransmits) */
  linkSend(path: LinkPath, peers: Iterable<string>, frame: Uint8Array): void
  /** closes the links to a member that left */
  linkClose(peer: string): void
  /** this node is leaving: failed links are no longer worth a warning */
  leaving(): void
  /** frames the bus links did not write */
  readonly linkDrops: number
}
