import { createServer } from 'node:net'
import type { PeerId } from '@libp2p/interface'
import { formatAddress, ListenError, type Logger, SafeEmitter } from '@meshcast/interface'
import type { DirectFrame } from '../wire/frames.ts'
import { tcpAddr } from './addresses.ts'
import { BusLinks } from './bus-links.ts'
import { DirectChannel } from './direct.ts'
import type { MeshIdentity } from './identity.ts'
import type { InboundLimits } from './inbound-gate.ts'
import { createMeshLibp2p, type MeshLibp2p } from './libp2p-node.ts'
import { peerId } from './peer-ids.ts'
import type { LinkPath, MeshTransport, Seed, TransportEvents, TransportHandlers } from './transport.ts'

/**
 * Bytes that may wait for one member's bus link: flow control keeps a
 * healthy member far below it; beyond it frames are left to retransmission.
 */
const BUS_LINK_QUEUE_BYTES = 32 * 1024 * 1024
/** Heartbeats that may wait for one peer's link: a few beats; older ones are worthless. */
const HEARTBEAT_LINK_QUEUE_BYTES = 256 * 1024

export interface Libp2pTransportInit {
  identity: MeshIdentity
  host: string
  port: number
  /** the private-network key (from the cluster password) */
  psk: Uint8Array
  /** the cluster's protocol ids and mDNS service (clusterNames) */
  names: {
    busProtocol: string
    heartbeatProtocol: string
    directProtocol: string
    mdnsService: string
  }
  mdns: boolean
  mdnsInterval: number
  dialTimeout: number
  requestTimeout: number
  /** largest frame on any path */
  maxFrameBytes: number
  /** largest state transfer */
  maxStateBytes: number
  inboundLimits: InboundLimits
}

/**
 * The mesh on libp2p: TCP, the private network, noise, yamux, gossipsub and
 * mDNS (createMeshLibp2p), one-off exchanges on short protocol streams
 * (DirectChannel), and long-lived streams per member for the bus and the
 * heartbeats (BusLinks), so bus traffic never delays a heartbeat.
 */
export class Libp2pTransport implements MeshTransport {
  readonly id: string
  readonly events: SafeEmitter<TransportEvents>
  readonly #init: Libp2pTransportInit
  readonly #log: Logger
  #libp2p: MeshLibp2p | null = null
  #direct: DirectChannel | null = null
  readonly #links = new Map<LinkPath, BusLinks>()

  constructor(init: Libp2pTransportInit, logger: Logger) {
    this.#init = init
    this.id = init.identity.id
    this.#log = logger
    this.events = new SafeEmitter((err, event) =>
      logger.error('transport event listener threw', { event: String(event), error: (err as Error).message }),
    )
  }

  /** The libp2p node, for what only libp2p has (tests that speak its wire). */
  get libp2p(): MeshLibp2p | null {
    return this.#libp2p
  }

  async start(handlers: TransportHandlers): Promise<void> {
    const s = this.#init
    const libp2p = await createMeshLibp2p({
      privateKey: s.identity.privateKey,
      host: s.host,
      port: s.port,
      psk: s.psk,
      mdnsService: s.mdns ? s.names.mdnsService : null,
      mdnsInterval: s.mdnsInterval,
      dialTimeout: s.dialTimeout,
      maxFrameBytes: s.maxFrameBytes,
      onForeign: (remote) =>
        handlers.dropped('otherPassword', 'a connection with another password, closed', { remote }),
      inboundLimits: s.inboundLimits,
      onRefused: (kind, remote, detail) => handlers.dropped(kind, `${detail}: closed`, { remote }),
    })
    this.#libp2p = libp2p
    this.#direct = new DirectChannel(
      {
        protocol: s.names.directProtocol,
        maxFrameBytes: Math.max(s.maxFrameBytes, s.maxStateBytes),
        timeout: s.requestTimeout,
      },
      {
        libp2p,
        logger: this.#log,
        handler: handlers.direct,
        dropped: (reason, detail, peer) => handlers.dropped(reason, detail, { peer, path: 'direct' }),
      },
    )
    const links = (path: LinkPath, protocol: string, maxQueuedBytes: number) => {
      const where = path === 'bus' ? 'bus link' : 'heartbeat link'
      this.#links.set(
        path,
        new BusLinks(
          { protocol, maxFrameBytes: s.maxFrameBytes, openTimeout: s.dialTimeout, maxQueuedBytes },
          {
            libp2p,
            logger: this.#log,
            receive: (peer, bytes) => handlers.link(path, peer, bytes),
            oversize: (peer, detail) => handlers.dropped('oversize', detail, { peer, path: where }),
          },
        ),
      )
    }
    links('bus', s.names.busProtocol, BUS_LINK_QUEUE_BYTES)
    links('heartbeat', s.names.heartbeatProtocol, HEARTBEAT_LINK_QUEUE_BYTES)
    const pubsub = libp2p.services.pubsub
    pubsub.addEventListener('message', (evt) =>
      this.events.emit('topic', { topic: evt.detail.topic, data: evt.detail.data }),
    )
    pubsub.addEventListener('subscription-change', () => this.events.emit('subscribed', undefined))
    libp2p.addEventListener('peer:connect', (evt) => this.events.emit('connect', evt.detail.toString()))
    libp2p.addEventListener('peer:disconnect', (evt) => this.events.emit('disconnect', evt.detail.toString()))
    const discovered = (peer: PeerId) => this.events.emit('discovered', peer.toString())
    libp2p.addEventListener('peer:discovery', (evt) => discovered(evt.detail.id))
    // every mDNS answer, also from peers the peer store knows (see libp2p-node.ts)
    libp2p.services.mdns?.addEventListener('peer', (evt) => discovered(evt.detail.id))
    try {
      await libp2p.start()
    } catch (err) {
      const e = err as NodeJS.ErrnoException
      const address = formatAddress({ host: s.host, port: s.port })
      if (e.code === 'EADDRINUSE' || e.code === 'EADDRNOTAVAIL' || e.code === 'EACCES')
        throw new ListenError('mesh', address, e)
      // libp2p reports a failed listen by name, with the errno only in its message text: ask the OS
      if (e.name === 'UnsupportedListenAddressesError')
        throw new ListenError('mesh', address, (await listenFailure(s.host, s.port)) ?? e)
      throw err
    }
    await this.#direct.start()
    for (const link of this.#links.values()) await link.start()
  }

  async stop(): Promise<void> {
    for (const link of this.#links.values()) await link.stop().catch(() => {})
    await this.#direct?.stop().catch(() => {})
    const libp2p = this.#libp2p
    this.#libp2p = null
    try {
      await libp2p?.stop()
    } catch (err) {
      this.#log.warn('libp2p stop failed', { error: (err as Error).message })
    }
  }

  connectedPeers(): string[] {
    const libp2p = this.#libp2p
    if (libp2p === null) return []
    return [...new Set(libp2p.getConnections().map((c) => c.remotePeer.toString()))]
  }

  isConnected(peer: string): boolean {
    try {
      return (this.#libp2p?.getConnections(peerId(peer)).length ?? 0) > 0
    } catch {
      return false // not a peer id
    }
  }

  peerHost(peer: string): string | null {
    const libp2p = this.#libp2p
    if (libp2p === null) return null
    try {
      for (const c of libp2p.getConnections(peerId(peer))) {
        const ip = c.remoteAddr.getComponents().find((p) => p.name === 'ip4' || p.name === 'ip6')
        if (ip?.value !== undefined) return ip.value
      }
    } catch {
      // not a peer id we can parse: no address
    }
    return null
  }

  async dial(target: Seed, options: { peer?: string; signal?: AbortSignal } = {}): Promise<string> {
    const connection = await this.#running().dial(
      tcpAddr(target.host, target.port, options.peer),
      options.signal === undefined ? {} : { signal: options.signal },
    )
    return connection.remotePeer.toString()
  }

  async dialPeer(peer: string): Promise<void> {
    await this.#running().dial(peerId(peer))
  }

  remember(peer: string, target: Seed): void {
    this.#libp2p?.peerStore
      .merge(peerId(peer), { multiaddrs: [tcpAddr(target.host, target.port)] })
      .catch((err: Error) => this.#log.debug('peer store update failed', { peer, error: err.message }))
  }

  async hangUp(peer: string): Promise<void> {
    await this.#libp2p?.hangUp(peerId(peer))
  }

  async ping(peer: string, signal: AbortSignal): Promise<void> {
    await this.#running().services.ping.ping(peerId(peer), { signal })
  }

  subscribe(topic: string): void {
    this.#libp2p?.services.pubsub.subscribe(topic)
  }

  async publish(topic: string, frame: Uint8Array): Promise<void> {
    await this.#libp2p?.services.pubsub.publish(topic, frame)
  }

  request(peer: string, frame: Uint8Array, expectReply: false): Promise<null>
  request(peer: string, frame: Uint8Array, expectReply: true): Promise<DirectFrame>
  request(peer: string, frame: Uint8Array, expectReply: boolean): Promise<DirectFrame | null> {
    const direct = this.#direct
    if (direct === null) return Promise.reject(new Error('the transport is not running'))
    return expectReply ? direct.send(peer, frame, true) : direct.send(peer, frame, false)
  }

  deliver(peer: string, frame: Uint8Array, signal: AbortSignal): Promise<void> {
    const direct = this.#direct
    if (direct === null) return Promise.reject(new Error('the transport is not running'))
    return direct.deliver(peer, frame, signal)
  }

  linkSend(path: LinkPath, peers: Iterable<string>, frame: Uint8Array): void {
    this.#links.get(path)?.send(peers, frame)
  }

  linkClose(peer: string): void {
    for (const link of this.#links.values()) link.close(peer)
  }

  leaving(): void {
    for (const link of this.#links.values()) link.leaving()
  }

  get linkDrops(): number {
    return this.#links.get('bus')?.dropped ?? 0
  }

  #running(): MeshLibp2p {
    if (this.#libp2p === null) throw new Error('the transport is not running')
    return this.#libp2p
  }
}

/** Why listening on `host:port` fails now (the OS's errno), or null when it works (closed again at once). */
async function listenFailure(host: string, port: number): Promise<NodeJS.ErrnoException | null> {
  const server = createServer()
  return await new Promise((resolve) => {
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err))
    server.listen(port, host, () => server.close(() => resolve(null)))
  })
}
