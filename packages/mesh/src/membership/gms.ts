import type { Member, ViewChange } from '@meshcast/interface'
import type { TimerHandle } from '../clock.ts'
import type { MeshContext } from '../context.ts'
import type { HeartbeatFrame } from '../wire/frames.ts'

export interface GmsHooks {
  /** a member's `data` or `load` changed, or it was first heard */
  member: (m: Member) => void
  /** the bus fields of a heartbeat (acks, the sender's position) */
  busInfo: (frame: HeartbeatFrame) => void
  /** a member is gone from the table: the bus forgets what it knew of it */
  forget: (id: string) => void
  /** a new view is installed here (after the membership's own bookkeeping) */
  installed: (change: ViewChange) => void
  /** a node that was alone is led by another now: it takes that cluster's state */
  rejoin: () => void
  /** a coordinator's news should not wait for the next beat */
  beatSoon: () => void
  /** one heartbeat to this member now (it must learn this node's view) */
  beatTo: (id: string) => void
}

/**
 * Group membership, JGroups GMS's job: hears members' heartbeats, removes
 * the ones that leave or fail, and installs views (ViewKeeper decides which;
 * this part applies them: the bus counts every member of the view, addresses
 * are learned, lost members are looked for, the full mesh is connected once
 * a view holds).
 */
export class Gms {
  readonly #ctx: MeshContext
  readonly #hooks: GmsHooks
  /** per member: its last data and load, as JSON, to tell news from repetition */
  readonly #said = new Map<string, string>()
  /** reconciles when the admissions the view keeper holds back are due */
  #admitTimer: TimerHandle | null = null
  /**
   * Whether the view has held for `viewHold`, so members connect to the
   * members they have no connection to yet (see #connectOnceHeld).
   */
  #meshOpen = false
  #holdTimer: TimerHandle | null = null

  constructor(ctx: MeshContext, hooks: GmsHooks) {
    this.#ctx = ctx
    this.#hooks = hooks
  }

  /** A member's heartbeat, checked and decoded. */
  heard(frame: HeartbeatFrame): void {
    const ctx = this.#ctx
    const m = frame.member
    const heard = ctx.table.heard(m, frame.n, ctx.clock.now())
    if (heard === 'replay' || heard === 'stale' || heard === 'left') {
      if (m.id === ctx.id || heard === 'left') return
      // Normal, not bad input: a beat comes by its link and now and then by gossip too,
      // and gossip can bring an older one after a newer one. Counted, not logged.
      ctx.drops.count(heard === 'stale' ? 'staleHeartbeat' : 'repeatedHeartbeat')
      return
    }
    const said = JSON.stringify([m.data, m.load])
    if (this.#said.get(m.id) !== said) {
      this.#said.set(m.id, said)
      this.#hooks.member(m)
    }
    const connector = ctx.connector()
    if (heard === 'new') {
      // Nothing to send: it heard this node's beat when they connected, and joiners take the
      // members they have not heard from the coordinator's view. Answering every new member
      // with a beat to all (and on gossip) made forming 20 nodes cost O(N³) messages (measured).
      ctx.log.info('member heard', { peer: m.id, role: m.role, mesh: m.mesh })
      ctx.lostMembers()?.heard(m.mesh)
      ctx.sender.addMember(m.id)
      connector?.learn(m.id, m.mesh)
    }
    // This node's coordinator (the oldest member heard, announcing a view) is connected to at
    // once; the rest once the view holds. Every joiner announces its one-member view: dialling
    // each of those at once built the whole mesh in the middle of a start-up (measured).
    if (frame.view !== undefined && ctx.table.ordered()[0]?.id === m.id) connector?.ensure(m.id, m.mesh, true)
    else if (this.#meshOpen) connector?.ensure(m.id, m.mesh, false)
    this.#hooks.busInfo(frame)
    ctx.keeper.noteSide(m.id, frame.side)
    // a member in a view this coordinator must go past: the newer view at once, not at the next tick
    if (heard === 'new' || (ctx.keeper.isCoordinator && ctx.keeper.aheadOf(frame.side))) this.reconcile()
    if (frame.view === undefined)
      ctx.keeper.forget(m.id) // no longer a coordinator
    else {
      const change = ctx.keeper.adopt(
        m.id,
        frame.view,
        ctx.table.ordered(),
        (id) => ctx.table.get(id)?.member,
      )
      if (change !== null) this.#installed(change)
      // Refused as no newer than this node's view (two sides counted alike): the coordinator goes
      // past it once it hears this node's view, so it hears it now, not a heartbeat later.
      else if (ctx.keeper.behind(m.id, frame.view, ctx.table.ordered())) this.#hooks.beatTo(m.id)
    }
  }

  /** The alive set may differ from the view: a coordinator installs a new one (see ViewKeeper). */
  reconcile(): void {
    const ctx = this.#ctx
    const change = ctx.keeper.reconcile(
      ctx.table.ordered(),
      (id) => ctx.table.get(id)?.member,
      ctx.clock.now(),
    )
    if (change !== null) this.#installed(change)
    const due = ctx.keeper.admitAt
    if (due !== null && this.#admitTimer === null && ctx.phase() !== 'stopped')
      this.#admitTimer = ctx.clock.setTimeout(
        () => {
          this.#admitTimer = null
          this.reconcile()
        },
        Math.max(0, due - ctx.clock.now()),
      )
  }

  /** A member said goodbye (on any path). */
  leave(id: string): void {
    if (!this.#ctx.table.leave(id)) return
    this.#ctx.receiver.close(id)
    this.removed(id, 'left')
  }

  /** A member is out of this node's table (it left, or a suspicion was not cleared). */
  removed(id: string, why: string): void {
    const ctx = this.#ctx
    this.#said.delete(id)
    // What this node sends in a view is for every member of that view: a member it stopped
    // hearing stays counted (its messages held for retransmission) until a view drops it. Dropped
    // at once, it missed what this node sent meanwhile though it stayed in the view and got
    // through again (found by the simulator, seed 2161).
    if (!ctx.keeper.view.members.some((m) => m.id === id)) ctx.sender.removeMember(id)
    ctx.transport.linkClose(id)
    this.#hooks.forget(id)
    ctx.keeper.forget(id)
    ctx.keeper.noteSide(id, undefined)
    ctx.connector()?.forget(id)
    // A partition leaves TCP connections open with nothing getting through, and their
    // retransmissions back off: after a 15 s cut, the old connection carried nothing until
    // 10-13 s after the heal (measured), while discovery kept finding the member "connected".
    // Closing it lets mDNS, a seed or a heartbeat heard by gossip bring a fresh one.
    ctx.transport
      .hangUp(id)
      .catch((err: Error) => ctx.log.debug('hang-up failed', { peer: id, error: err.message }))
    ctx.log.info('member removed', { peer: id, why })
    this.reconcile()
  }

  stop(): void {
    const clock = this.#ctx.clock
    if (this.#admitTimer !== null) clock.clearTimeout(this.#admitTimer)
    if (this.#holdTimer !== null) clock.clearTimeout(this.#holdTimer)
    this.#admitTimer = null
    this.#holdTimer = null
  }

  #installed(change: ViewChange): void {
    const ctx = this.#ctx
    ctx.tallies.viewChanges++
    const { view, joined, left, merged, others } = change
    const connector = ctx.connector()
    // A view can name members this node has not heard yet (the coordinator described them):
    // what this node sends from now on is theirs too, so count them now, and learn their address.
    // Every member, not only the joined ones: a member this node removed while its old view
    // still named it (cut off from its coordinator) is in the new view without joining it, and
    // what this node sent in that view before hearing the member again never reached it (found
    // by the simulator, seed 149).
    for (const m of view.members) {
      if (m.id === ctx.id) continue
      ctx.sender.addMember(m.id)
      connector?.learn(m.id, m.mesh)
    }
    this.#connectOnceHeld(left.length > 0)
    for (const m of left) if (!ctx.table.has(m.id)) ctx.sender.removeMember(m.id)
    // a member gone without a goodbye may be alive behind a fault: its address is looked at until it answers
    for (const m of left)
      if (m.id !== ctx.id && !ctx.table.hasLeft(m.id)) ctx.lostMembers()?.lost(m.id, m.mesh)
    if (ctx.keeper.isCoordinator) this.#hooks.beatSoon()
    if (ctx.phase() === 'joined') {
      // the first view event is the join itself, said by the join
      ctx.log.info('new view', {
        view: view.id,
        members: view.members.length,
        coordinator: view.coordinator,
        joined: joined.map((m) => m.id),
        left: left.map((m) => m.id),
        merged,
        ...(merged ? { others: others.map((m) => m.id) } : {}),
      })
      const wasAlone = joined.length === view.members.length - 1 && left.length === 0
      if (wasAlone && view.coordinator !== ctx.id && joined.some((m) => m.id === view.coordinator))
        this.#hooks.rejoin()
      // a replica may have come or gone behind a seed's DNS name
      void connector?.refresh()
    }
    this.#hooks.installed(change)
  }

  /**
   * Members connect to each other (the full mesh) once a view has held for
   * `viewHold`; a removal connects them at once, as links may be missing
   * now. Each joiner connects to its seeds and the coordinator, which is
   * all a join needs. When 20 nodes start at once, each view used to
   * set every member dialling the newcomers while later ones still waited
   * for the coordinator: 170 handshakes on the same CPUs as the
   * admissions. Deferring them took one view of 20 from 4.5 s to 1.7 s
   * after the last node was up (measured). The bus needs no full mesh
   * meanwhile: a bus link dials the member it sends to.
   */
  #connectOnceHeld(now: boolean): void {
    const clock = this.#ctx.clock
    if (this.#holdTimer !== null) clock.clearTimeout(this.#holdTimer)
    this.#holdTimer = null
    if (now) {
      this.#openMesh()
      return
    }
    this.#meshOpen = false
    this.#holdTimer = clock.setTimeout(() => {
      this.#holdTimer = null
      this.#openMesh()
    }, this.#ctx.s.viewHold)
  }

  #openMesh(): void {
    const ctx = this.#ctx
    if (ctx.phase() === 'stopped' || ctx.phase() === 'leaving') return
    this.#meshOpen = true
    const view = ctx.keeper.view
    // The coordinator first, whatever the ids: after a coordinator is lost, its successor's
    // views reach only the members connected to it.
    for (const m of view.members)
      if (m.id !== ctx.id) ctx.connector()?.ensure(m.id, m.mesh, m.id === view.coordinator)
  }
}
