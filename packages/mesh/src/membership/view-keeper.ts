import type { Member, View, ViewChange } from '@meshcast/interface'
import type { WireView } from '../wire/frames.ts'

function viewId(coordinator: string, counter: number): string {
  return `${coordinator.slice(-6)}:${counter}`
}

/** The counter in a view id (`<coordinator tail>:<counter>`), or 0. */
function counterOf(id: string): number {
  const n = Number(id.slice(id.lastIndexOf(':') + 1))
  return Number.isSafeInteger(n) && n > 0 ? n : 0
}

function sameIds(a: readonly Member[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((m, i) => m.id === b[i])
}

/**
 * Installs views the JGroups way: the coordinator (first of the alive
 * members in join order) decides; everyone else adopts what it announces.
 * Partitions heal by themselves: once both sides hear each other, the
 * oldest member is everybody's coordinator and its view holds them all.
 *
 * Admissions are bundled, as JGroups' GMS does: a coordinator that hears a
 * new member waits `bundling` ms and admits everyone heard meanwhile in one
 * view. Each view is a heartbeat with every member's record to every member,
 * and work on each of them (new connections, events); 20 nodes starting at
 * once made 19 views one after another. A removal is never held back (it
 * also admits whoever waits).
 */
export class ViewKeeper {
  readonly #selfId: string
  readonly #bundling: number
  /** when the oldest admission waiting for a view was first seen (null: none waits) */
  #waitingSince: number | null = null
  #view: View
  /** highest view counter seen anywhere, so a new view's counter is always higher */
  #maxCounter: number
  /**
   * The last view each member announced as coordinator: adopted as soon as
   * that member is this node's coordinator and every member in it is known
   * (the announcement can arrive before this node has removed the old coordinator).
   */
  readonly #announced = new Map<string, WireView>()
  /** The view each member said it was in (once joined): how a coordinator tells a merge from a join. */
  readonly #sides = new Map<string, string>()
  /** the current view's sides, when it merged partitions (announced with it) */
  #viewSides: string[][] | undefined

  constructor(self: Member, opts: { bundling?: number } = {}) {
    this.#selfId = self.id
    this.#bundling = opts.bundling ?? 0
    this.#view = { id: viewId(self.id, 1), counter: 1, coordinator: self.id, members: [self] }
    this.#maxCounter = 1
  }

  get view(): View {
    return this.#view
  }

  get isCoordinator(): boolean {
    return this.#view.coordinator === this.#selfId
  }

  /** The view as the coordinator announces it in its heartbeats; undefined on other members. */
  wire(): WireView | undefined {
    if (!this.isCoordinator) return undefined
    const wire: WireView = {
      counter: this.#view.counter,
      members: this.#view.members.map((m) => m.id),
      records: [...this.#view.members],
    }
    if (this.#viewSides !== undefined) wire.sides = this.#viewSides
    return wire
  }

  /** A heartbeat said which view its sender is in (undefined: it is still joining, or it is gone). */
  noteSide(id: string, side: string | undefined): void {
    if (side === undefined) this.#sides.delete(id)
    else {
      this.#sides.set(id, side)
      // a view this node never saw counts too: the next one it installs must be newer still
      this.#maxCounter = Math.max(this.#maxCounter, counterOf(side))
    }
  }

  /** Members whose heartbeats carried a view: coordinators, as far as this node knows. */
  announcers(): string[] {
    return [...this.#announced.keys()]
  }

  /** When the admissions that wait are due (reconcile then), or null when none waits. */
  get admitAt(): number | null {
    return this.#waitingSince === null ? null : this.#waitingSince + this.#bundling
  }

  /**
   * The alive set changed (or a tick): when this node leads it and it
   * differs from the current view, installs a new view (admissions alone
   * once they have waited `bundling` ms, see the class comment).
   */
  reconcile(
    alive: readonly Member[],
    lookup: (id: string) => Member | undefined,
    now = Date.now(),
  ): ViewChange | null {
    const leader = alive[0]
    if (leader?.id !== this.#selfId) this.#waitingSince = null
    if (leader?.id === this.#selfId) {
      const same =
        this.isCoordinator &&
        sameIds(
          alive,
          this.#view.members.map((m) => m.id),
        )
      if (same) {
        this.#waitingSince = null
        // Others moved on to a newer view without this node (it was paused, or cut off, and
        // they removed it): the same members in a view newer than theirs, at once, or they
        // would keep theirs and this one its own (view ids never go back, see adopt).
        if (this.#maxCounter <= this.#view.counter && !this.#othersAhead()) return this.#refresh(lookup)
      } else if (this.isCoordinator && this.#bundling > 0 && this.#onlyAdds(alive)) {
        this.#waitingSince ??= now
        if (now < this.#waitingSince + this.#bundling) return null
      }
      this.#waitingSince = null
      const members = alive.map((m) => m.id)
      const next: WireView = { counter: this.#maxCounter + 1, members }
      const sides = this.#sidesOf(members)
      if (sides !== undefined) next.sides = sides
      return this.#install(next, this.#selfId, lookup)
    }
    const announced = leader === undefined ? undefined : this.#announced.get(leader.id)
    if (leader !== undefined && announced !== undefined)
      return this.adopt(leader.id, announced, alive, lookup)
    return null
  }

  /**
   * The coordinator's grouping of a new view's members by the view each was
   * in before: its own members stay together, and each member that joins
   * from another view goes with the others from that view. Undefined when
   * there is one group only (nothing merged): members that were still
   * joining are in no group, as they come with no history of their own.
   */
  #sidesOf(members: readonly string[]): string[][] | undefined {
    const before = new Set(this.#view.members.map((m) => m.id))
    const groups = new Map<string, string[]>([[this.#view.id, []]])
    for (const id of members) {
      // A member of this node's view that reports a newer view than this node's was in a view
      // without it (this node was paused or cut off): another side. Lower ones just lag behind.
      const reported = this.#sides.get(id)
      const newer = reported !== undefined && counterOf(reported) > this.#view.counter
      const side = before.has(id) && !newer ? this.#view.id : reported
      if (side === undefined) continue
      let group = groups.get(side)
      if (group === undefined) {
        group = []
        groups.set(side, group)
      }
      group.push(id)
    }
    const sides = [...groups.values()].filter((g) => g.length > 0)
    return sides.length > 1 ? sides : undefined
  }

  /**
   * Whether a member of this node's view reports another view as new as
   * this one: two sides that reached the same counter apart, each refusing
   * the other's (adopt takes newer views only).
   */
  #othersAhead(): boolean {
    return this.#view.members.some((m) => this.aheadOf(this.#sides.get(m.id)))
  }

  /** Whether a member's reported view (`side`) is one this node's next view must go past. */
  aheadOf(side: string | undefined): boolean {
    return side !== undefined && side !== this.#view.id && counterOf(side) >= this.#view.counter
  }

  /**
   * Whether `from`, this node's coordinator, announced a view that names this
   * node but is no newer than this node's (adopt refused it): `from` must
   * hear this node's view (its heartbeat's side) to install a newer one.
   */
  behind(from: string, view: WireView, alive: readonly Member[]): boolean {
    return (
      alive[0]?.id === from &&
      view.members.includes(this.#selfId) &&
      view.counter <= this.#view.counter &&
      !(this.#view.coordinator === from && this.#view.counter === view.counter)
    )
  }

  /** Whether `alive` holds every member of the current view: the change admits, removes nobody. */
  #onlyAdds(alive: readonly Member[]): boolean {
    const ids = new Set(alive.map((m) => m.id))
    return this.#view.members.every((m) => ids.has(m.id))
  }

  /** A member is gone: forget what it announced. */
  forget(id: string): void {
    this.#announced.delete(id)
  }

  /** A heartbeat from `from` carried its view. Installs it when `from` is this node's coordinator. */
  adopt(
    from: string,
    view: WireView,
    alive: readonly Member[],
    lookup: (id: string) => Member | undefined,
  ): ViewChange | null {
    this.#maxCounter = Math.max(this.#maxCounter, view.counter)
    if (from === this.#selfId) return null
    this.#announced.set(from, view)
    if (alive[0]?.id !== from) return null
    if (!view.members.includes(this.#selfId)) return null // it has not heard us yet
    // View ids only move forward: an older view is what a coordinator announced before a
    // pause or a partition (members went back from view 6 to its view 5 when a SIGSTOPped
    // coordinator resumed). Its next view is newer: it saw this node's (noteSide, above).
    if (view.counter <= this.#view.counter) return null
    // Members this node has not heard yet are taken as the coordinator describes them.
    const told = new Map((view.records ?? []).map((m) => [m.id, m]))
    const known = (id: string) => lookup(id) ?? told.get(id)
    if (view.members.some((id) => known(id) === undefined)) return null // adopted once they are heard
    return this.#install(view, from, known)
  }

  /** Member records change (load, data) without a new view: keep the current view's copies fresh. */
  #refresh(lookup: (id: string) => Member | undefined): null {
    const members = this.#view.members.map((m) => lookup(m.id) ?? m)
    this.#view = { ...this.#view, members }
    return null
  }

  #install(view: WireView, coordinator: string, lookup: (id: string) => Member | undefined): ViewChange {
    const before = this.#view
    const members = view.members.map((id) => lookup(id)).filter((m): m is Member => m !== undefined)
    this.#maxCounter = Math.max(this.#maxCounter, view.counter)
    this.#view = { id: viewId(coordinator, view.counter), counter: view.counter, coordinator, members }
    const had = new Set(before.members.map((m) => m.id))
    const has = new Set(view.members)
    const joined = members.filter((m) => !had.has(m.id))
    const left = before.members.filter((m) => !has.has(m.id))
    this.#viewSides = view.sides
    const others = this.#othersIn(view.sides, coordinator, members)
    return { view: this.#view, joined, left, merged: others.length > 0, others }
  }

  /**
   * The members of a merged view that were on other sides than this node:
   * this node's side is the group holding it, or the coordinator's when it
   * was still joining (it got the coordinator's state).
   */
  #othersIn(sides: string[][] | undefined, coordinator: string, members: readonly Member[]): Member[] {
    if (sides === undefined) return []
    const mine =
      sides.find((g) => g.includes(this.#selfId)) ?? sides.find((g) => g.includes(coordinator)) ?? []
    const other = new Set(sides.flat().filter((id) => !mine.includes(id)))
    return members.filter((m) => other.has(m.id))
  }
}
