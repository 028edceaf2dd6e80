import type { Member } from '@meshcast/interface'

/** Why a member is suspected: its connection closed, or its heartbeats stopped. */
export type SuspectReason = 'closed' | 'silent'

export interface MemberEntry {
  member: Member
  /** last heartbeat number heard */
  n: number
  /** local clock (ms) when first heard */
  firstHeard: number
  /** local clock (ms) of the last heartbeat */
  lastHeard: number
  suspect: { reason: SuspectReason; since: number } | null
  /**
   * Local clock (ms) when this node, hearing nothing from it past
   * `suspectAfter`, asked it directly whether it is alive; null while it is
   * heard. Not yet a suspicion: one comes only when no answer does.
   */
  asked: number | null
}

export interface TableTimings {
  /** silence (ms) after which a member is suspected */
  suspectAfter: number
  /** ms a member suspected for a closed connection stays before removal */
  closedGrace: number
  /** ms a silent member has to answer (a probe or any heartbeat) before it is suspected and removed */
  silentGrace: number
  /**
   * ms after a member is first heard during which silence must last three
   * times `suspectAfter`: a process that just started is still compiling and
   * loading, and when many start at once on few cores it falls silent for
   * seconds while alive (measured: ~200 false suspicions starting 20 nodes on
   * 2 cores). A closed connection is still suspected at once.
   */
  youngFor: number
}

/** What a heartbeat was: 'replay' repeats the last number (it came by a second path), 'stale' is older (gossip can reorder). */
export type Heard = 'new' | 'updated' | 'replay' | 'stale' | 'left'

/** What a `tick` changed. */
export interface TickResult {
  /** newly silent past `suspectAfter`: to be asked directly (JGroups' VERIFY_SUSPECT), not yet suspects */
  silent: MemberEntry[]
  suspected: MemberEntry[]
  removed: MemberEntry[]
}

/** How many ids of cleanly left members are remembered, so their late heartbeats do not bring them back. */
const LEFT_MEMORY = 4096

/** Orders members the way views list them: start time, then id. */
export function joinOrder(a: Member, b: Member): number {
  return a.startedAt - b.startedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
}

/**
 * The members this node believes alive, with failure suspicion. Pure: the
 * caller passes the clock and acts on what changed.
 */
export class MemberTable {
  readonly selfId: string
  readonly #timings: TableTimings
  readonly #entries = new Map<string, MemberEntry>()
  /** heartbeat numbers outlive removal: only a newer heartbeat brings a removed member back */
  readonly #lastN = new Map<string, number>()
  readonly #left = new Set<string>()

  constructor(self: Member, timings: TableTimings, now: number) {
    this.selfId = self.id
    this.#timings = timings
    this.#entries.set(self.id, {
      member: self,
      n: 0,
      firstHeard: now,
      lastHeard: now,
      suspect: null,
      asked: null,
    })
  }

  get size(): number {
    return this.#entries.size
  }

  get(id: string): MemberEntry | undefined {
    return this.#entries.get(id)
  }

  has(id: string): boolean {
    return this.#entries.has(id)
  }

  hasLeft(id: string): boolean {
    return this.#left.has(id)
  }

  entries(): MemberEntry[] {
    return [...this.#entries.values()]
  }

  /** Alive members (suspects included until removed), in join order. */
  ordered(): Member[] {
    return [...this.#entries.values()].map((e) => e.member).sort(joinOrder)
  }

  updateSelf(self: Member): void {
    const entry = this.#entries.get(this.selfId)
    if (entry !== undefined) entry.member = self
  }

  /** A heartbeat arrived. */
  heard(member: Member, n: number, now: number): Heard {
    if (member.id === this.selfId) return 'replay'
    if (this.#left.has(member.id)) return 'left'
    const last = this.#lastN.get(member.id) ?? 0
    if (n === last) return 'replay'
    if (n < last) return 'stale'
    this.#lastN.set(member.id, n)
    const entry = this.#entries.get(member.id)
    if (entry === undefined) {
      this.#entries.set(member.id, { member, n, firstHeard: now, lastHeard: now, suspect: null, asked: null })
      return 'new'
    }
    entry.member = member
    entry.n = n
    entry.lastHeard = now
    // A heartbeat answers the question asked of a silent member. A closed
    // connection is only cleared by a new connection: a heartbeat relayed by
    // a third member may have been sent before the sender died.
    entry.asked = null
    return 'updated'
  }

  /** The connection to `id` closed: suspect at once. True when newly suspected. */
  closed(id: string, now: number): boolean {
    const entry = this.#entries.get(id)
    if (entry === undefined || id === this.selfId || entry.suspect !== null) return false
    entry.suspect = { reason: 'closed', since: now }
    entry.asked = null
    return true
  }

  /** A connection to `id` is open again: no longer suspect. True when it was a suspect. */
  alive(id: string, now: number): boolean {
    const entry = this.#entries.get(id)
    if (entry === undefined) return false
    entry.asked = null
    if (entry.suspect === null) return false
    entry.suspect = null
    entry.lastHeard = now
    return true
  }

  /** A silent member answered the question asked of it. True when it was still being asked. */
  answered(id: string, now: number): boolean {
    const entry = this.#entries.get(id)
    if (entry?.asked == null) return false
    entry.asked = null
    entry.lastHeard = now
    return true
  }

  /** `id` stopped cleanly. True when it was a member. */
  leave(id: string): boolean {
    this.#left.add(id)
    if (this.#left.size > LEFT_MEMORY) this.#left.delete(this.#left.values().next().value as string)
    return id !== this.selfId && this.#entries.delete(id)
  }

  /**
   * Asks the silent, suspects and removes those that did not answer within
   * `silentGrace`, removes closed suspects whose grace is over. Silence is
   * counted only while `watched(id)`: a member this node cannot expect to
   * hear (no connection yet) is someone else's to judge until it can.
   *
   * Silence alone is not announced as a suspicion: one TCP segment lost
   * twice over a long link holds every frame behind it for a second or more
   * (measured across 100 ms with 3 % loss: a 1.5 s silence in about one
   * steady minute of four nodes in three), and the connection then delivers them all. The
   * question (a ping, or any heartbeat meanwhile) tells that from a death in
   * the same `suspectAfter + silentGrace` as before.
   */
  tick(now: number, watched: (id: string) => boolean = () => true): TickResult {
    const result: TickResult = { silent: [], suspected: [], removed: [] }
    const t = this.#timings
    for (const [id, entry] of this.#entries) {
      if (id === this.selfId) continue
      if (entry.suspect === null) {
        if (!watched(id)) {
          entry.lastHeard = Math.max(entry.lastHeard, now)
          entry.asked = null
          continue
        }
        if (entry.asked !== null) {
          if (now - entry.asked >= t.silentGrace) {
            entry.suspect = { reason: 'silent', since: entry.asked }
            this.#entries.delete(id)
            result.suspected.push(entry)
            result.removed.push(entry)
          }
          continue
        }
        const young = now - entry.firstHeard < t.youngFor
        if (now - entry.lastHeard > (young ? 3 * t.suspectAfter : t.suspectAfter)) {
          entry.asked = now
          result.silent.push(entry)
        }
        continue
      }
      // a suspect here is a closed one: a silent member is suspected only as it is removed
      if (now - entry.suspect.since >= t.closedGrace) {
        this.#entries.delete(id)
        result.removed.push(entry)
      }
    }
    return result
  }
}
