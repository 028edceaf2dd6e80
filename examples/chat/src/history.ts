import type { Entry } from './protocol.ts'

/**
 * The room's one order, the same on every node and page whatever arrived
 * when: server time, then node, then id. A node stamps strictly rising
 * times, so each sender's order holds.
 */
export function entryOrder(a: Entry, b: Entry): number {
  if (a.time !== b.time) return a.time - b.time
  if (a.node !== b.node) return a.node < b.node ? -1 : 1
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0
}

/**
 * The room's recent history: the last `capacity` entries in the order this
 * node delivered them, and their ids, so a repeat is known as such.
 */
export class History {
  readonly capacity: number
  readonly #entries: Entry[] = []
  readonly #ids = new Set<string>()

  constructor(capacity: number) {
    this.capacity = capacity
  }

  has(id: string): boolean {
    return this.#ids.has(id)
  }

  /** Adds an entry; false (and nothing added) for one already here. */
  add(entry: Entry): boolean {
    if (this.#ids.has(entry.id)) return false
    this.#entries.push(entry)
    this.#ids.add(entry.id)
    while (this.#entries.length > this.capacity) {
      const oldest = this.#entries.shift() as Entry
      this.#ids.delete(oldest.id)
    }
    return true
  }

  /**
   * Takes in another node's history (state transfer, or a pull after a
   * merge): the entries not here yet, merged in the room's order, the
   * newest `capacity` kept. Returns them.
   */
  merge(entries: readonly Entry[]): Entry[] {
    const fresh = entries.filter((e) => !this.#ids.has(e.id))
    if (fresh.length === 0) return []
    const all = [...this.#entries, ...fresh].sort(entryOrder)
    this.#entries.length = 0
    this.#ids.clear()
    for (const entry of all) this.add(entry)
    return fresh.filter((e) => this.#ids.has(e.id))
  }

  list(): Entry[] {
    return [...this.#entries]
  }
}
