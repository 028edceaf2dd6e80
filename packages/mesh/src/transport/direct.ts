import type { Connection, Stream } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import type { Logger } from '@meshcast/interface'
import { type DropReason, decodeDirectFrame } from '../wire/codec.ts'
import type { DirectFrame } from '../wire/frames.ts'
import type { MeshLibp2p } from './libp2p-node.ts'
import { peerId } from './peer-ids.ts'

/** Answers a direct frame; returns the reply's bytes, or null for none. */
export type DirectHandler = (frame: DirectFrame) => Promise<Uint8Array | null> | Uint8Array | null

export interface DirectInit {
  protocol: string
  maxFrameBytes: number
  /** ms a request may take before it fails */
  timeout: number
}

export interface DirectComponents {
  libp2p: MeshLibp2p
  logger: Logger
  handler: DirectHandler
  /** a frame was dropped: counted and logged by the mesh */
  dropped: (reason: DropReason | 'foreign', detail: string, peer: string) => void
}

/**
 * Frames sent straight to one member (retransmission, acks, leave, state
 * transfer) on a libp2p protocol stream: one short stream per exchange.
 */
export class DirectChannel {
  readonly #init: DirectInit
  readonly #c: DirectComponents

  constructor(init: DirectInit, components: DirectComponents) {
    this.#init = init
    this.#c = components
  }

  async start(): Promise<void> {
    await this.#c.libp2p.handle(
      this.#init.protocol,
      (stream, connection) => void this.#serve(stream, connection),
      {
        maxInboundStreams: 512,
        maxOutboundStreams: 512,
      },
    )
  }

  async stop(): Promise<void> {
    await this.#c.libp2p.unhandle(this.#init.protocol)
  }

  /** Sends one frame and, when `expectReply`, returns the decoded answer. */
  async send(peer: string, frame: Uint8Array, expectReply: false): Promise<null>
  async send(peer: string, frame: Uint8Array, expectReply: true): Promise<DirectFrame>
  async send(peer: string, frame: Uint8Array, expectReply: boolean): Promise<DirectFrame | null> {
    const signal = AbortSignal.timeout(this.#init.timeout)
    const stream = await this.#c.libp2p.dialProtocol(peerId(peer), this.#init.protocol, { signal })
    try {
      const lp = lpStream(stream, { maxDataLength: this.#init.maxFrameBytes })
      await lp.write(frame, { signal })
      if (!expectReply) return null
      const bytes = (await lp.read({ signal })).subarray()
      const decoded = decodeDirectFrame(bytes, this.#init.maxFrameBytes)
      if (!decoded.ok) throw new Error(`bad reply from ${peer}: ${decoded.reason}: ${decoded.detail}`)
      if (decoded.frame.from !== peer)
        throw new Error(`reply from ${peer} claims to be from ${decoded.frame.from}`)
      return decoded.frame
    } finally {
      await stream.close().catch(() => stream.abort(new Error('close failed')))
    }
  }

  /**
   * Sends one frame that has no answer and resolves once `peer` has handled
   * it: a member closes its end of the stream only after its handler has
   * returned (see #serve), or when it goes away. Rejects when the frame could
   * not be written, or `signal` ends the wait.
   */
  async deliver(peer: string, frame: Uint8Array, signal: AbortSignal): Promise<void> {
    const stream = await this.#c.libp2p.dialProtocol(peerId(peer), this.#init.protocol, { signal })
    try {
      const lp = lpStream(stream, { maxDataLength: this.#init.maxFrameBytes })
      await lp.write(frame, { signal })
      await stream.close({ signal })
      await lp.read({ signal }).then(
        () => {
          throw new Error(`unexpected reply from ${peer}`)
        },
        (err: Error) => {
          if (err.name !== 'UnexpectedEOFError') throw err
        },
      )
    } catch (err) {
      stream.abort(err as Error)
      throw err
    }
  }

  async #serve(stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer.toString()
    const signal = AbortSignal.timeout(this.#init.timeout)
    try {
      const lp = lpStream(stream, { maxDataLength: this.#init.maxFrameBytes })
      const bytes = (await lp.read({ signal })).subarray()
      const decoded = decodeDirectFrame(bytes, this.#init.maxFrameBytes)
      if (!decoded.ok) {
        this.#c.dropped(decoded.reason, decoded.detail, peer)
        stream.abort(new Error('bad frame'))
        return
      }
      if (decoded.frame.from !== peer) {
        this.#c.dropped('foreign', `frame claims to be from ${decoded.frame.from}`, peer)
        stream.abort(new Error('foreign frame'))
        return
      }
      const reply = await this.#c.handler(decoded.frame)
      if (reply !== null) await lp.write(reply, { signal })
      await stream.close()
    } catch (err) {
      const e = err as Error
      if (e.name === 'InvalidDataLengthError' || e.name === 'InvalidDataLengthLengthError')
        this.#c.dropped('oversize', e.message, peer)
      // otherwise a peer that vanished mid-exchange
      else this.#c.logger.debug('direct stream failed', { peer, error: e.message })
      stream.abort(e)
    }
  }
}
