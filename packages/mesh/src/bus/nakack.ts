import type { MeshContext } from '../context.ts'
import { encodeFrame, encodeRetransmitFrame } from '../wire/codec.ts'
import type { BusFrame, HeartbeatFrame } from '../wire/frames.ts'
import type { SeqRange } from './receive-window.ts'

/**
 * The bus between members, JGroups NAKACK's way: batches on each member's
 * bus link, gaps asked for again from their sender, acks in heartbeats and
 * direct frames. The sender and receiver keep the numbers; this part moves
 * their frames and opens the receiving windows once the state this node
 * starts from is known (`openAt`, then `openWindows`).
 */
export class Nakack {
  readonly #ctx: MeshContext
  /** a sender's messages can no longer be had (announced as a `gap` by the mesh) */
  readonly #gap: (from: string, lost: SeqRange) => void
  /** per member: the last heartbeat's bus fields, replayed once the windows open */
  readonly #lastBusInfo = new Map<string, { seq: number; joinedAt: number | undefined }>()
  /** bus windows open only once the state this node starts from is known */
  #windowsOpen = false
  #ticks = 0

  constructor(ctx: MeshContext, gap: (from: string, lost: SeqRange) => void) {
    this.#ctx = ctx
    this.#gap = gap
  }

  get windowsOpen(): boolean {
    return this.#windowsOpen
  }

  /** This node takes a new state (it rejoins a cluster): its windows wait for that state's digest. */
  holdWindows(): void {
    this.#windowsOpen = false
  }

  /** Opens the windows of the senders a state's digest names, right after what it reflects. */
  openAt(digest: Record<string, number>): void {
    const { id, receiver } = this.#ctx
    for (const [sender, seq] of Object.entries(digest)) if (sender !== id) receiver.open(sender, seq + 1)
  }

  /** The state is in: the other senders' windows open where their heartbeats say. */
  openWindows(): void {
    this.#windowsOpen = true
    for (const [sender, info] of this.#lastBusInfo)
      this.#ctx.receiver.heartbeat(sender, info.seq, info.joinedAt)
  }

  /** Per sender, the last message delivered here: what a state taken now reflects. */
  digest(): Record<string, number> {
    return { ...this.#ctx.receiver.digest(), [this.#ctx.id]: this.#ctx.sender.highest }
  }

  /** A bus batch goes straight to every member the sender counts (see BusLinks for why not gossip). */
  publish(frame: Uint8Array): void {
    const ctx = this.#ctx
    if (ctx.up()) ctx.transport.linkSend('bus', ctx.sender.memberIds(), frame)
  }

  /** A member's heartbeat: its acks of this node's messages, and where its own stream stands. */
  heartbeat(frame: HeartbeatFrame): void {
    const { id, sender, receiver } = this.#ctx
    const m = frame.member
    const ack = frame.acks[id]
    if (ack !== undefined) sender.ack(m.id, ack)
    const info = { seq: frame.seq, joinedAt: frame.joined[id] }
    this.#lastBusInfo.set(m.id, info)
    if (this.#windowsOpen) receiver.heartbeat(m.id, info.seq, info.joinedAt)
  }

  /** A batch from a member. */
  receive(frame: BusFrame): void {
    const ctx = this.#ctx
    if (frame.from === ctx.id) return
    if (!ctx.table.has(frame.from)) {
      ctx.drops.drop(
        'foreign',
        `bus frame from non-member ${frame.from}`,
        { count: frame.msgs.length },
        frame.msgs.length,
      )
      return
    }
    ctx.receiver.receive(frame.from, frame.msgs)
  }

  /** Every NAK interval: asks for the gaps that persisted; acks what light traffic never acked. */
  tick(): void {
    if (this.#windowsOpen) this.#requestRetransmissions()
    // Light traffic never reaches ackEvery: ack what is delivered every other tick.
    if (++this.#ticks % 2 === 0) this.#ctx.receiver.flushAcks()
  }

  /** Tells `peer` that its messages up to `seq` are delivered here. */
  ack(peer: string, seq: number): void {
    const ctx = this.#ctx
    if (!ctx.up()) return
    ctx.transport
      .request(peer, encodeFrame({ v: 1, k: 'ack', from: ctx.id, seq }), false)
      .catch((err: Error) => ctx.log.debug('direct send failed', { peer, kind: 'ack', error: err.message }))
  }

  /** A member asked for messages again: what this node still holds of them, within one batch's bytes. */
  retransmit(ranges: [number, number][]): Uint8Array {
    const { sender, s, tallies, id } = this.#ctx
    const out: string[] = []
    let bytes = 0
    const budget = s.maxBatchBytes
    for (const [from, to] of ranges) {
      for (const json of sender.held(from, to)) {
        if (bytes + json.length > budget && out.length > 0) break
        out.push(json)
        bytes += json.length
      }
      if (bytes > budget) break
    }
    tallies.retransmitted += out.length
    return encodeRetransmitFrame(id, sender.lowestHeld, out)
  }

  /** Numbers `range` from `from` are gone for good (its sender no longer holds them). */
  lost(from: string, range: SeqRange): void {
    this.#ctx.tallies.gapsLost += range.to - range.from + 1
    this.#ctx.log.warn('bus messages lost: the sender no longer holds them', {
      peer: from,
      from: range.from,
      to: range.to,
    })
    this.#gap(from, range)
  }

  /** A member is gone from this node's table. */
  forget(id: string): void {
    this.#lastBusInfo.delete(id)
  }

  #requestRetransmissions(): void {
    const ctx = this.#ctx
    if (!ctx.up()) return
    for (const { sender, ranges } of ctx.receiver.naksDue()) {
      ctx.tallies.retransmitRequests++
      const frame = encodeFrame({ v: 1, k: 'nak', from: ctx.id, ranges: ranges.map((r) => [r.from, r.to]) })
      ctx.transport
        .request(sender, frame, true)
        .then((reply) => {
          // a wrong answer is a failed request, not an unhandled rejection
          if (reply.k !== 'rtx') throw new Error(`expected a retransmission, got "${reply.k}"`)
          ctx.receiver.retransmitted(sender, reply.low, reply.msgs)
        })
        .catch((err: Error) => {
          ctx.receiver.nakFailed(sender)
          ctx.log.debug('retransmission request failed', { peer: sender, error: err.message })
        })
    }
  }
}
