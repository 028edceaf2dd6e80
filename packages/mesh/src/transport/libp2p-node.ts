import { gossipsub, StrictNoSign } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import type { PrivateKey } from '@libp2p/interface'
import { mdns } from '@libp2p/mdns'
import { noise } from '@libp2p/noise'
import { ping } from '@libp2p/ping'
import { preSharedKey } from '@libp2p/pnet'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { isWildcard } from '@meshcast/interface'
import { createLibp2p } from 'libp2p'
import { tcpAddr } from './addresses.ts'
import { InboundGate, type InboundLimits, type InboundRefusal } from './inbound-gate.ts'
import { PasswordCheck } from './password-check.ts'

export interface Libp2pInit {
  privateKey: PrivateKey
  host: string
  port: number
  psk: Uint8Array
  /** the mDNS service name, or null for no mDNS */
  mdnsService: string | null
  mdnsInterval: number
  /** ms a dial may take; short, because a wrong-password dial can hang until it */
  dialTimeout: number
  maxFrameBytes: number
  /** a connection came with another password (it is closed) */
  onForeign?: (remote: string) => void
  inboundLimits: InboundLimits
  /** a connection over an address's cap (it is closed at once) */
  onRefused?: (kind: InboundRefusal, remote: string, detail: string) => void
}

/**
 * The libp2p node of a member: TCP, the cluster's private network, noise,
 * yamux, identify, ping and gossipsub. Settings that differ from libp2p's
 * defaults say why.
 */
export async function createMeshLibp2p(init: Libp2pInit) {
  // Dialing from our own address matters when several nodes share a host on
  // 127.x addresses: otherwise every inbound connection comes from 127.0.0.1.
  const dialOpts = isWildcard(init.host) ? {} : ({ localAddress: init.host } as object)
  return await createLibp2p({
    privateKey: init.privateKey,
    start: false,
    addresses: { listen: [tcpAddr(init.host, init.port).toString()] },
    transports: [tcp({ dialOpts })],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionProtector: () =>
      new PasswordCheck(preSharedKey({ psk: init.psk })(), init.onForeign ?? (() => {})),
    connectionGater: new InboundGate(init.inboundLimits, init.onRefused ?? (() => {})),
    connectionManager: {
      // Members of a cluster may share one IP (a host running several nodes).
      inboundConnectionThreshold: 1000,
      maxIncomingPendingConnections: 256,
      maxConnections: 1024,
      addressDialTimeout: init.dialTimeout,
      dialTimeout: init.dialTimeout * 2,
    },
    // The mesh runs its own failure detector; libp2p's monitor aborts
    // connections of CPU-starved peers (measured), which would be false suspicion.
    connectionMonitor: { enabled: false },
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: gossipsub({
        allowPublishToZeroTopicPeers: true,
        // The private network already authenticates every peer; signing costs half the CPU at 1,000 msg/s.
        globalSignaturePolicy: StrictNoSign,
        emitSelf: false,
        maxInboundDataLength: init.maxFrameBytes,
        // Several nodes per IP is normal on one host: no colocation penalty.
        scoreParams: { IPColocationFactorWeight: 0 },
      }),
      // A service rather than a `peerDiscovery` entry, so the connector hears every answer:
      // libp2p announces a peer as discovered only while its peer store does not know it,
      // and a member found again after a partition healed is known (it was never redialled).
      ...(init.mdnsService === null
        ? {}
        : { mdns: mdns({ serviceTag: init.mdnsService, interval: init.mdnsInterval }) }),
    },
  })
}

export type MeshLibp2p = Awaited<ReturnType<typeof createMeshLibp2p>>
