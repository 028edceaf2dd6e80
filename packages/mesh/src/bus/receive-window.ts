/** A run of sequence numbers, both ends included. */
export interface SeqRange {
  from: number
  to: number
}

export interface Accepted<T> {
  /** items now deliverable, in sequence order */
  deliver: T[]
  /** true when `seq` was already delivered or is already buffered */
  duplicate: boolean
}

/**
 * The receiving half of NAKACK for one sender: items arrive in any order,
 * leave in sequence order, each exactly once. What is missing between the
 * next expected number and the highest seen is a gap to ask the sender for.
 */
export class ReceiveWindow<T> {
  #next: number
  readonly #buffered = new Map<number, T>()
  #highest: number

  /** `next`: the first sequence number this receiver will deliver. */
  constructor(next: number) {
    this.#next = next
    this.#highest = next - 1
  }

  /** The sequence number delivery waits for. */
  get next(): number {
    return this.#next
  }

  /** The highest sequence number seen or announced. */
  get highest(): number {
    return this.#highest
  }

  get buffered(): number {
    return this.#buffered.size
  }

  add(seq: number, item: T): Accepted<T> {
    if (seq < this.#next || this.#buffered.has(seq)) return { deliver: [], duplicate: true }
    this.#highest = Math.max(this.#highest, seq)
    this.#buffered.set(seq, item)
    return { deliver: this.#drain(), duplicate: false }
  }

  /** The sender says it has sent up to `seq` (a heartbeat): anything unseen up to there is missing. */
  announce(seq: number): void {
    this.#highest = Math.max(this.#highest, seq)
  }

  /** Runs of missing numbers between `next` and `highest`, at most `limit` numbers in all. */
  missing(limit = Number.POSITIVE_INFINITY): SeqRange[] {
    const ranges: SeqRange[] = []
    let budget = limit
    let seq = this.#next
    while (seq <= this.#highest && budget > 0) {
      if (this.#buffered.has(seq)) {
        seq++
        continue
      }
      const from = seq
      while (seq <= this.#highest && !this.#buffered.has(seq) && budget > 0) {
        seq++
        budget--
      }
      ranges.push({ from, to: seq - 1 })
    }
    return ranges
  }

  /**
   * Gives up on everything before `seq` (the sender no longer holds it):
   * delivers what is buffered from there on and returns the range lost.
   */
  skipTo(seq: number): { lost: SeqRange | null; deliver: T[] } {
    if (seq <= this.#next) return { lost: null, deliver: [] }
    const lost = { from: this.#next, to: seq - 1 }
    for (const buffered of this.#buffered.keys()) if (buffered < seq) this.#buffered.delete(buffered)
    this.#next = seq
    this.#highest = Math.max(this.#highest, seq - 1)
    return { lost, deliver: this.#drain() }
  }

  #drain(): T[] {
    const out: T[] = []
    for (;;) {
      const item = this.#buffered.get(this.#next)
      if (item === undefined && !this.#buffered.has(this.#next)) return out
      this.#buffered.delete(this.#next)
      this.#next++
      out.push(item as T)
    }
  }
}
