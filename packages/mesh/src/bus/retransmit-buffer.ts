/** How many sent messages a sender keeps for retransmission, by default. */
export const DEFAULT_RETRANSMIT_CAPACITY = 50_000

/**
 * The sending half of NAKACK: the last `capacity` messages sent, by sequence
 * number, so a receiver that missed one can ask for it again. Bounded: the
 * oldest falls out first, and a request for it is answered "gone".
 */
export class RetransmitBuffer<T> {
  readonly capacity: number
  readonly #slots: (T | undefined)[]
  /** sequence number of the oldest message still held */
  #low = 1
  /** sequence number the next message gets */
  #next = 1

  constructor(capacity = DEFAULT_RETRANSMIT_CAPACITY) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`capacity must be >= 1, got ${capacity}`)
    this.capacity = capacity
    this.#slots = new Array<T | undefined>(capacity)
  }

  /** The number the next `push` assigns. */
  get nextSeq(): number {
    return this.#next
  }

  /** The oldest number still held (`nextSeq` when empty). */
  get lowestHeld(): number {
    return this.#low
  }

  /** Stores `item`, returns its sequence number. */
  push(item: T): number {
    const seq = this.#next++
    this.#slots[seq % this.capacity] = item
    if (seq - this.#low >= this.capacity) this.#low = seq - this.capacity + 1
    return seq
  }

  /** Drops everything up to `seq` (every receiver has it): frees memory early. */
  trimTo(seq: number): void {
    const to = Math.min(seq, this.#next - 1)
    for (let s = this.#low; s <= to; s++) this.#slots[s % this.capacity] = undefined
    if (to >= this.#low) this.#low = to + 1
  }

  /** How many messages are held. */
  get size(): number {
    return this.#next - this.#low
  }

  /** The message numbered `seq`, or undefined when never sent or already dropped. */
  get(seq: number): T | undefined {
    if (seq < this.#low || seq >= this.#next) return undefined
    return this.#slots[seq % this.capacity]
  }
}
