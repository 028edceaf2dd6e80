import {
  clusterKey,
  clusterNames,
  createMeshLibp2p,
  DEFAULT_INBOUND_LIMITS,
  type MeshLibp2p,
  newIdentity,
  tcpAddr,
} from '@meshcast/mesh'
import { encode } from 'it-length-prefixed'

/**
 * A libp2p node that knows a cluster's password but is no member: it
 * speaks the mesh's transports (gossip topic, direct streams, bus links)
 * and sends whatever bytes a test gives it. For bad-input tests.
 */
export class RoguePeer {
  readonly id: string
  readonly #names: ReturnType<typeof clusterNames>
  readonly #libp2p: MeshLibp2p

  private constructor(libp2p: MeshLibp2p, names: ReturnType<typeof clusterNames>, id: string) {
    this.#libp2p = libp2p
    this.#names = names
    this.id = id
  }

  /** Starts listening on `host` (an unused loopback address) with the cluster's key. */
  static async start(password: string, host: string, port = 7800): Promise<RoguePeer> {
    const key = clusterKey(password)
    const identity = newIdentity()
    const libp2p = await createMeshLibp2p({
      privateKey: identity.privateKey,
      host,
      port,
      psk: key.psk,
      mdnsService: null,
      mdnsInterval: 60_000,
      dialTimeout: 5000,
      maxFrameBytes: 8 * 1024 * 1024,
      inboundLimits: DEFAULT_INBOUND_LIMITS,
    })
    await libp2p.start()
    const names = clusterNames(key.tag)
    libp2p.services.pubsub.subscribe(names.heartbeatTopic)
    return new RoguePeer(libp2p, names, identity.id)
  }

  async connect(host: string, port: number, peer: string): Promise<void> {
    await this.#libp2p.dial(tcpAddr(host, port, peer))
  }

  /** Publishes raw bytes on the cluster's heartbeat topic. */
  async gossip(bytes: Uint8Array): Promise<void> {
    await this.#libp2p.services.pubsub.publish(this.#names.heartbeatTopic, bytes)
  }

  /** How many peers the rogue's gossip reaches on the heartbeat topic. */
  gossipPeers(): number {
    return this.#libp2p.services.pubsub.getSubscribers(this.#names.heartbeatTopic).length
  }

  /** Sends one length-prefixed frame on a direct stream to `peer`. */
  async direct(host: string, port: number, peer: string, bytes: Uint8Array): Promise<void> {
    await this.#stream(this.#names.directProtocol, host, port, peer, [bytes])
  }

  /** Sends frames on a bus link to `peer`, as a sender would. */
  async busLink(host: string, port: number, peer: string, frames: Uint8Array[]): Promise<void> {
    await this.#stream(this.#names.busProtocol, host, port, peer, frames)
  }

  async stop(): Promise<void> {
    await this.#libp2p.stop()
  }

  async #stream(protocol: string, host: string, port: number, peer: string, frames: Uint8Array[]) {
    const stream = await this.#libp2p.dialProtocol(tcpAddr(host, port, peer), protocol, {
      signal: AbortSignal.timeout(5000),
    })
    for (const f of frames) if (!stream.send(encode.single(f).subarray())) await stream.onDrain()
    await stream.close().catch(() => stream.abort(new Error('close failed')))
  }
}
