import type { BusEnvelope } from '../wire/frames.ts'
import type { SeqRange } from './receive-window.ts'
import { ReceiveWindow } from './receive-window.ts'

export interface ReceiverOptions {
  /** send a flow-control ack after this many deliveries from one sender */
  ackEvery: number
  /** most sequence numbers asked for in one retransmission request */
  maxNak: number
  /**
   * ms without a frame from a sender before the tail its heartbeat
   * announced is asked for. Its frames come in order on one stream, so
   * an unseen tail is usually still on the way: asking early under load
   * doubled the traffic and collapsed throughput (measured).
   */
  tailAfter: number
}

/** Hooks the receiver calls; the mesh turns them into deliveries, frames and events. */
export interface ReceiverComponents {
  deliver: (from: string, envelope: BusEnvelope) => void
  /** numbers `range` from `from` can no longer be had */
  lost: (from: string, range: SeqRange) => void
  /** tell `from` we have delivered up to `seq` */
  ack: (from: string, seq: number) => void
  /** ms clock (default Date.now): the simulator's virtual one in tests */
  now?: () => number
}

interface Incoming {
  window: ReceiveWindow<BusEnvelope>
  lastAcked: number
  /** missing ranges seen at the previous NAK check: only gaps that persist are asked for */
  lastMissing: string
  nakInFlight: boolean
  /** when the last frame from this sender came (ms) */
  lastFrameAt: number
  /** the sender's `joined` entry for us when last seen; a higher one means it counted us afresh */
  joinedAt: number | undefined
}

/** Why an incoming bus message was not delivered. */
export type Discard = 'duplicate' | 'unknownSender'

/**
 * The receiving half of the bus: one NAKACK window per sender, created
 * only once the sender has told us where our share of its stream begins
 * (its `joined` entry for us) or a state transfer has fixed it.
 */
export class BusReceiver {
  readonly #opts: ReceiverOptions
  readonly #c: ReceiverComponents
  readonly #in = new Map<string, Incoming>()
  discarded: Record<Discard, number> = { duplicate: 0, unknownSender: 0 }

  constructor(opts: ReceiverOptions, components: ReceiverComponents) {
    this.#opts = opts
    this.#c = components
  }

  #now(): number {
    return (this.#c.now ?? Date.now)()
  }

  /** Starts receiving `sender` at number `next`. */
  open(sender: string, next: number, joinedAt?: number): void {
    if (this.#in.has(sender)) return
    this.#in.set(sender, {
      window: new ReceiveWindow(next),
      lastAcked: next - 1,
      lastMissing: '',
      nakInFlight: false,
      lastFrameAt: this.#now(),
      joinedAt,
    })
  }

  /** Forgets a sender that left cleanly. */
  close(sender: string): void {
    this.#in.delete(sender)
  }

  /** The sender's heartbeat: its highest number, and where our share begins. */
  heartbeat(sender: string, highest: number, joinedAt: number | undefined): void {
    if (joinedAt === undefined) return
    if (!this.#in.has(sender)) this.open(sender, joinedAt, joinedAt)
    const inc = this.#in.get(sender) as Incoming
    // The sender counted us afresh (we were out of its membership for a while): what it sent meanwhile is gone.
    if (inc.joinedAt !== undefined && joinedAt > inc.joinedAt && joinedAt > inc.window.next)
      this.#skip(sender, inc, joinedAt)
    inc.joinedAt = joinedAt
    inc.window.announce(highest)
  }

  receive(sender: string, msgs: readonly BusEnvelope[]): void {
    const inc = this.#in.get(sender)
    if (inc === undefined) {
      this.discarded.unknownSender += msgs.length
      return
    }
    inc.lastFrameAt = this.#now()
    for (const msg of msgs) {
      const { deliver, duplicate } = inc.window.add(msg.s, msg)
      if (duplicate) this.discarded.duplicate++
      this.#deliver(sender, inc, deliver)
    }
  }

  /** A retransmission arrived: `low` is the lowest the sender still holds. */
  retransmitted(sender: string, low: number, msgs: readonly BusEnvelope[]): void {
    const inc = this.#in.get(sender)
    if (inc === undefined) return
    inc.nakInFlight = false
    this.receive(sender, msgs)
    if (low > inc.window.next) this.#skip(sender, inc, low)
  }

  nakFailed(sender: string): void {
    const inc = this.#in.get(sender)
    if (inc !== undefined) inc.nakInFlight = false
  }

  /** Gaps that persisted since the last check, per sender: what to ask for now. */
  naksDue(now = this.#now()): { sender: string; ranges: SeqRange[] }[] {
    const due: { sender: string; ranges: SeqRange[] }[] = []
    for (const [sender, inc] of this.#in) {
      // Only a tail (nothing held beyond the gap) can still be in transit.
      if (inc.window.buffered === 0 && now - inc.lastFrameAt < this.#opts.tailAfter) {
        inc.lastMissing = ''
        continue
      }
      const ranges = inc.window.missing(this.#opts.maxNak)
      const key = ranges.length === 0 ? '' : `${ranges[0]?.from}`
      const persisted = key !== '' && key === inc.lastMissing
      inc.lastMissing = key
      if (persisted && !inc.nakInFlight) {
        inc.nakInFlight = true
        due.push({ sender, ranges })
      }
    }
    return due
  }

  /** Per sender, the highest number delivered in order: heartbeats carry it as acks. */
  digest(): Record<string, number> {
    const out: Record<string, number> = {}
    for (const [sender, inc] of this.#in) out[sender] = inc.window.next - 1
    return out
  }

  /** Acks for senders with deliveries not yet acknowledged (sent on a timer when traffic is light). */
  flushAcks(): void {
    for (const [sender, inc] of this.#in) {
      const seq = inc.window.next - 1
      if (seq > inc.lastAcked) {
        inc.lastAcked = seq
        this.#c.ack(sender, seq)
      }
    }
  }

  #skip(sender: string, inc: Incoming, to: number): void {
    const { lost, deliver } = inc.window.skipTo(to)
    if (lost !== null) this.#c.lost(sender, lost)
    this.#deliver(sender, inc, deliver)
  }

  #deliver(sender: string, inc: Incoming, msgs: BusEnvelope[]): void {
    for (const msg of msgs) {
      this.#c.deliver(sender, msg)
    }
    const seq = inc.window.next - 1
    if (seq - inc.lastAcked >= this.#opts.ackEvery) {
      inc.lastAcked = seq
      this.#c.ack(sender, seq)
    }
  }
}
