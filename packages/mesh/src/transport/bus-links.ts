import type { Connection, Stream } from '@libp2p/interface'
import type { Logger } from '@meshcast/interface'
import { decode, encode } from 'it-length-prefixed'
import type { MeshLibp2p } from './libp2p-node.ts'
import { peerId } from './peer-ids.ts'

export interface BusLinksInit {
  protocol: string
  maxFrameBytes: number
  /** ms an attempt to open a link may take */
  openTimeout: number
  /** bytes queued for one member beyond which its frames are dropped (retransmission recovers them) */
  maxQueuedBytes: number
}

export interface BusLinksComponents {
  libp2p: MeshLibp2p
  logger: Logger
  /** a frame arrived from `peer` (decoded and checked by the mesh) */
  receive: (peer: string, bytes: Uint8Array) => void
  /** an inbound frame over the size limit: counted and logged by the mesh */
  oversize: (peer: string, detail: string) => void
}

/** ms a link that failed to open stays closed: frames meanwhile are left to retransmission. */
const REOPEN_AFTER = 500

interface Link {
  stream: Stream | null
  queue: Uint8Array[]
  queuedBytes: number
  writing: boolean
  /** Date.now() before which no attempt to open is made */
  closedUntil: number
}

/**
 * Bus frames go from the sender straight to each member on one long-lived
 * stream per member, as JGroups' TCP transport does, not through gossip: at
 * the sizes a cluster has, gossip's forwarding made every frame cross the
 * network (and the ciphers) up to N-1 times more than needed, and it has no
 * backpressure. A link waits for its stream to drain; what cannot be written
 * (a closed link, a member far behind) is dropped here and recovered by the
 * bus's retransmission, exactly like a lost gossip frame.
 */
/** ms a failed link waits for the member's leave notice before it is worth a warning. */
const LEAVE_GRACE_MS = 1000

export class BusLinks {
  readonly #init: BusLinksInit
  readonly #c: BusLinksComponents
  readonly #links = new Map<string, Link>()
  readonly #inbound = new Set<Stream>()
  #stopped = false
  #leaving = false
  /** frames not written (overflow or a link that could not open) */
  dropped = 0

  constructor(init: BusLinksInit, components: BusLinksComponents) {
    this.#init = init
    this.#c = components
  }

  async start(): Promise<void> {
    await this.#c.libp2p.handle(
      this.#init.protocol,
      (stream, connection) => this.#serve(stream, connection),
      {
        maxInboundStreams: 4,
        maxOutboundStreams: 4,
      },
    )
  }

  /** This node is leaving: links still send, but their failures are expected now (peers leave too). */
  leaving(): void {
    this.#leaving = true
  }

  async stop(): Promise<void> {
    this.#stopped = true
    for (const id of [...this.#links.keys()]) this.close(id)
    for (const stream of this.#inbound) stream.abort(new Error('mesh stopping'))
    this.#inbound.clear()
    await this.#c.libp2p.unhandle(this.#init.protocol)
  }

  /** Queues one frame for each of `peers`; the length prefix is encoded once. */
  send(peers: Iterable<string>, frame: Uint8Array): void {
    if (this.#stopped) return
    const bytes = encode.single(frame).subarray()
    for (const peer of peers) {
      let link = this.#links.get(peer)
      if (link === undefined) {
        link = { stream: null, queue: [], queuedBytes: 0, writing: false, closedUntil: 0 }
        this.#links.set(peer, link)
      }
      if (link.queuedBytes + bytes.byteLength > this.#init.maxQueuedBytes || Date.now() < link.closedUntil) {
        this.dropped++
        continue
      }
      link.queue.push(bytes)
      link.queuedBytes += bytes.byteLength
      if (!link.writing) void this.#write(peer, link)
    }
  }

  /** Closes the link to a member that left. */
  close(peer: string): void {
    const link = this.#links.get(peer)
    if (link === undefined) return
    this.#links.delete(peer)
    link.queue = []
    link.queuedBytes = 0
    link.stream?.close().catch((err: Error) => link.stream?.abort(err))
  }

  async #write(peer: string, link: Link): Promise<void> {
    link.writing = true
    try {
      while (link.queue.length > 0 && !this.#stopped) {
        const stream = link.stream ?? (await this.#open(peer, link))
        const bytes = link.queue.shift() as Uint8Array
        link.queuedBytes -= bytes.byteLength
        if (!stream.send(bytes))
          await stream.onDrain({ signal: AbortSignal.timeout(this.#init.openTimeout * 5) })
      }
    } catch (err) {
      this.dropped += link.queue.length
      link.queue = []
      link.queuedBytes = 0
      link.stream?.abort(err as Error)
      link.stream = null
      link.closedUntil = Date.now() + REOPEN_AFTER
      // A link fails as expected when this node stops or the peer leaves, and a leave notice
      // can arrive just after the failure it explains: warn only if the peer is still connected
      // a moment later (a gone peer is membership's business). Frames lost either way are the
      // receiver's to ask for again.
      const error = (err as Error).message
      this.#c.logger.debug('bus link failed', { peer, error })
      setTimeout(() => {
        const alive = !this.#stopped && !this.#leaving && this.#links.get(peer) === link
        if (alive && this.#c.libp2p.getConnections(peerId(peer)).length > 0)
          this.#c.logger.warn('bus link failed', { peer, error })
      }, LEAVE_GRACE_MS).unref()
    } finally {
      link.writing = false
    }
  }

  async #open(peer: string, link: Link): Promise<Stream> {
    const stream = await this.#c.libp2p.dialProtocol(peerId(peer), this.#init.protocol, {
      signal: AbortSignal.timeout(this.#init.openTimeout),
    })
    stream.addEventListener('close', () => {
      if (link.stream === stream) link.stream = null
    })
    link.stream = stream
    return stream
  }

  async #serve(stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer.toString()
    this.#inbound.add(stream)
    try {
      for await (const frame of decode(stream, { maxDataLength: this.#init.maxFrameBytes }))
        this.#c.receive(peer, frame.subarray())
    } catch (err) {
      const e = err as Error
      if (e.name === 'InvalidDataLengthError' || e.name === 'InvalidDataLengthLengthError')
        this.#c.oversize(peer, e.message)
      else this.#c.logger.debug('bus link from member ended', { peer, error: e.message })
      stream.abort(e)
    } finally {
      this.#inbound.delete(stream)
    }
  }
}
