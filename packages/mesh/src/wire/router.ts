import type { DropLog } from '../drop-log.ts'
import type { LinkPath } from '../transport/transport.ts'
import { decodeTopicFrame } from './codec.ts'
import type { BusFrame, DirectFrame, HeartbeatFrame } from './frames.ts'

/** Where each kind of frame goes once it is decoded and checked. */
export interface FrameHandlers {
  heartbeat: (frame: HeartbeatFrame) => void
  leave: (from: string) => void
  bus: (frame: BusFrame) => void
  /** a member asks for `ranges` of this node's messages again: the reply */
  nak: (ranges: [number, number][]) => Uint8Array
  ack: (from: string, seq: number) => void
  /** a member asks for state (all, or `names`): the reply */
  state: (from: string, names?: readonly string[]) => Uint8Array
}

/**
 * Every frame the transport hands up, decoded (decodeTopicFrame and
 * decodeDirectFrame check every field and never throw), checked for the
 * path it came by and the sender it claims, and passed to its handler.
 * What fails is dropped and counted by reason (DropLog).
 */
export class FrameRouter {
  readonly #drops: DropLog
  readonly #maxFrame: number
  readonly #topic: string
  readonly #h: FrameHandlers

  constructor(drops: DropLog, maxFrame: number, heartbeatTopic: string, handlers: FrameHandlers) {
    this.#drops = drops
    this.#maxFrame = maxFrame
    this.#topic = heartbeatTopic
    this.#h = handlers
  }

  /** A frame on a gossip topic: heartbeats and leave notices only. */
  topic(topic: string, data: Uint8Array): void {
    const decoded = decodeTopicFrame(data, this.#maxFrame)
    if (!decoded.ok) {
      this.#drops.drop(decoded.reason, decoded.detail, { path: 'gossip', topic })
      return
    }
    const frame = decoded.frame
    if (topic !== this.#topic || frame.k === 'bus') {
      this.#drops.drop('invalid', `a "${frame.k}" frame on gossip topic ${topic}`, { path: 'gossip', topic })
      return
    }
    if (frame.k === 'hb') this.#h.heartbeat(frame)
    else this.#h.leave(frame.from)
  }

  /** A frame from `peer` on one of its links: heartbeats and leave notices, or bus batches. */
  link(path: LinkPath, peer: string, bytes: Uint8Array): void {
    const where = path === 'bus' ? 'bus link' : 'heartbeat link'
    const decoded = decodeTopicFrame(bytes, this.#maxFrame)
    if (!decoded.ok) {
      this.#drops.drop(decoded.reason, decoded.detail, { peer, path: where })
      return
    }
    const frame = decoded.frame
    if ((frame.k === 'bus') !== (path === 'bus')) {
      this.#drops.drop(
        'invalid',
        path === 'bus' ? `a "${frame.k}" frame on a bus link` : 'a bus frame on a heartbeat link',
        { peer, path: where },
      )
      return
    }
    const from = frame.k === 'hb' ? frame.member.id : frame.from
    if (from !== peer) {
      this.#drops.drop(
        'foreign',
        frame.k === 'bus'
          ? `bus frame claims to be from ${from}`
          : `a "${frame.k}" frame claiming to be from ${from}`,
        { peer, path: where },
      )
      return
    }
    if (frame.k === 'bus') this.#h.bus(frame)
    else if (frame.k === 'hb') this.#h.heartbeat(frame)
    else this.#h.leave(frame.from)
  }

  /** A frame sent straight to this node (the transport decoded it and checked its sender): the reply, or null. */
  direct(frame: DirectFrame): Uint8Array | null {
    switch (frame.k) {
      case 'nak':
        return this.#h.nak(frame.ranges)
      case 'ack':
        this.#h.ack(frame.from, frame.seq)
        return null
      case 'leave':
        this.#h.leave(frame.from)
        return null
      case 'state?':
        return this.#h.state(frame.from, frame.names)
      default:
        this.#drops.drop('invalid', `unexpected direct frame "${frame.k}"`, { peer: frame.from })
        return null
    }
  }
}
