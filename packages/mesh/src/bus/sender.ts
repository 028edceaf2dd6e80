import type { Logger } from '@meshcast/interface'
import { Alarm } from '../alarm.ts'
import { encodeBusFrame, utf8Length } from '../wire/codec.ts'
import type { WireTarget } from '../wire/frames.ts'
import { RetransmitBuffer } from './retransmit-buffer.ts'

export interface SenderOptions {
  /** most messages sent but not yet delivered by every member; sending waits beyond it */
  maxInFlight: number
  /** most bytes in one published batch */
  maxBatchBytes: number
}

/** What the sender needs from the rest of the mesh. */
export interface SenderComponents {
  selfId: string
  logger: Logger
  /** publishes one batch frame on the bus topic */
  publish: (frame: Uint8Array) => Promise<void>
  /** runs a function after the current work (default setImmediate) */
  soon?: (fn: () => void) => void
}

/** An envelope body before it gets its sequence number: the JSON after `"s":N,`. */
interface Queued {
  body: string
  bytes: number
  done: () => void
}

/**
 * The sending half of the bus: numbers messages, bundles those sent close
 * together into one bus frame (JGroups' bundler), sent on each member's bus link, keeps them for
 * retransmission, and paces itself by what receivers have acknowledged
 * (a receiver far behind would otherwise make its sender hold without bound).
 */
export class BusSender {
  readonly #opts: SenderOptions
  readonly #c: SenderComponents
  readonly #buffer: RetransmitBuffer<string>
  readonly #queue: Queued[] = []
  /** per member: highest of our numbers it has delivered */
  readonly #acks = new Map<string, number>()
  /** per member: the first of our numbers it must receive */
  readonly #joined = new Map<string, number>()
  #flushing = false
  #queuedBytes = 0
  /** a sender out of room sleeps until an ack comes */
  readonly #acked = new Alarm()
  #stopped = false
  sentMessages = 0

  constructor(opts: SenderOptions, components: SenderComponents) {
    this.#opts = opts
    this.#c = components
    // Flow control keeps at most maxInFlight unacknowledged, so twice that never drops one a member still needs.
    this.#buffer = new RetransmitBuffer(Math.max(2 * opts.maxInFlight, 1024))
  }

  /** Highest number sent so far (0 before the first). */
  get highest(): number {
    return this.#buffer.nextSeq - 1
  }

  get lowestHeld(): number {
    return this.#buffer.lowestHeld
  }

  get queued(): number {
    return this.#queue.length
  }

  /** Bytes of messages waiting to be numbered and sent. */
  get queuedBytes(): number {
    return this.#queuedBytes
  }

  /** A member appeared: it must receive everything from the next number on. */
  addMember(id: string): void {
    if (this.#joined.has(id)) return
    const next = this.#buffer.nextSeq
    this.#joined.set(id, next)
    this.#acks.set(id, next - 1)
  }

  /** The members this sender counts: each gets every batch. */
  memberIds(): IterableIterator<string> {
    return this.#joined.keys()
  }

  removeMember(id: string): void {
    this.#joined.delete(id)
    this.#acks.delete(id)
    this.#advance()
  }

  joinedMap(): Record<string, number> {
    return Object.fromEntries(this.#joined)
  }

  /** `id` has delivered our messages up to `seq`. */
  ack(id: string, seq: number): void {
    const known = this.#acks.get(id)
    if (known === undefined || seq <= known) return
    this.#acks.set(id, Math.min(seq, this.highest))
    this.#advance()
  }

  /**
   * Queues one message; resolves once it is published. `fields` is the
   * envelope's JSON after the target (`"c":…,"d":…`): serialised once by the
   * caller, the sequence number is prefixed at flush.
   */
  send(target: WireTarget, fields: string): Promise<void> {
    const body = `"t":${JSON.stringify(target)},${fields}`
    return new Promise((resolve) => {
      const bytes = utf8Length(body) + 24
      this.#queuedBytes += bytes
      this.#queue.push({ body, bytes, done: resolve })
      if (!this.#flushing) {
        this.#flushing = true
        ;(this.#c.soon ?? setImmediate)(() => void this.#flush())
      }
    })
  }

  /** Serialised envelopes still held for retransmission in `from..to`. */
  held(from: number, to: number): string[] {
    const out: string[] = []
    for (let s = Math.max(from, this.#buffer.lowestHeld); s <= to; s++) {
      const json = this.#buffer.get(s)
      if (json !== undefined) out.push(json)
    }
    return out
  }

  stop(): void {
    this.#stopped = true
    this.#acked.wake()
    for (const q of this.#queue.splice(0)) q.done()
    this.#queuedBytes = 0
  }

  /** Lowest number every member has delivered. */
  #stable(): number {
    let low = this.highest
    for (const seq of this.#acks.values()) low = Math.min(low, seq)
    return low
  }

  #advance(): void {
    this.#buffer.trimTo(this.#stable())
    this.#acked.wake()
  }

  async #flush(): Promise<void> {
    try {
      while (this.#queue.length > 0 && !this.#stopped) {
        const room = this.#opts.maxInFlight - (this.highest - this.#stable())
        if (room <= 0) {
          await this.#acked.sleep(250)
          continue
        }
        await this.#publishBatch(room)
      }
    } finally {
      this.#flushing = false
    }
  }

  async #publishBatch(room: number): Promise<void> {
    const envelopes: string[] = []
    const done: (() => void)[] = []
    let bytes = 0
    while (this.#queue.length > 0 && envelopes.length < room) {
      const next = this.#queue[0] as Queued
      if (envelopes.length > 0 && bytes + next.bytes > this.#opts.maxBatchBytes) break
      this.#queue.shift()
      this.#queuedBytes -= next.bytes
      const seq = this.#buffer.nextSeq
      const json = `{"s":${seq},${next.body}}`
      this.#buffer.push(json)
      envelopes.push(json)
      done.push(next.done)
      bytes += next.bytes
    }
    this.#buffer.trimTo(this.#stable())
    try {
      await this.#c.publish(encodeBusFrame(this.#c.selfId, envelopes))
      this.sentMessages += envelopes.length
    } catch (err) {
      // Numbered and held: receivers learn the numbers from heartbeats and ask again.
      this.#c.logger.warn('bus publish failed; receivers will request a retransmission', {
        error: (err as Error).message,
      })
    }
    for (const d of done) d()
  }
}
