import type { MeshContext } from '../context.ts'
import type { MemberEntry, SuspectReason } from './member-table.ts'

export interface FailureDetectorHooks {
  /** a member fell silent past `suspectAfter` and is being asked whether it is alive (counted by the mesh) */
  silent: (id: string) => void
  /** a silent member answered the ping (before any heartbeat did): no suspicion */
  answered: (id: string) => void
  /** a member became a suspect (counted, logged and announced by the mesh) */
  suspected: (id: string, reason: SuspectReason) => void
  /** a suspect was not cleared: the mesh removes it */
  removed: (entry: MemberEntry) => void
  /** the alive set may have changed: the view follows */
  reconcile: () => void
}

/**
 * Who is alive, as JGroups' FD_ALL and VERIFY_SUSPECT judge it: a closed
 * connection makes a suspect at once, redialled and removed when the dial
 * does not clear it within `closedGrace`; silence past `suspectAfter` makes
 * the member asked (pinged), and only one that does not answer within
 * `silentGrace` is suspected, and removed.
 * The timing rules live in MemberTable; this part decides whose silence this
 * node judges and asks the questions.
 */
export class FailureDetector {
  readonly #ctx: MeshContext
  readonly #hooks: FailureDetectorHooks
  #lastTick: number

  constructor(ctx: MeshContext, hooks: FailureDetectorHooks) {
    this.#ctx = ctx
    this.#hooks = hooks
    this.#lastTick = ctx.clock.now()
  }

  /** Every NAK interval. */
  tick(): void {
    const now = this.#ctx.clock.now()
    const late = now - this.#lastTick - this.#ctx.s.nakInterval
    this.#lastTick = now
    // This node was starved (CPU, GC, SIGSTOP): others' heartbeats may be
    // waiting unread in its sockets. Judge silence after reading them.
    if (late > this.#ctx.s.heartbeatInterval) this.#ctx.clock.soon(() => this.check())
    else this.check()
  }

  check(): void {
    const ctx = this.#ctx
    if (ctx.phase() === 'stopped') return
    // sorted once a tick, not once a member
    const nextInLine = ctx.table.ordered()[0]?.id
    const { silent, suspected, removed } = ctx.table.tick(ctx.clock.now(), (id) =>
      this.#watched(id, nextInLine),
    )
    for (const entry of silent) {
      this.#hooks.silent(entry.member.id)
      this.#ask(entry.member.id)
    }
    for (const entry of suspected) this.#hooks.suspected(entry.member.id, 'silent')
    for (const entry of removed) this.#hooks.removed(entry)
    this.#hooks.reconcile()
  }

  /** A connection to `id` opened: a suspicion it had is cleared. */
  connected(id: string): void {
    if (this.#ctx.table.alive(id, this.#ctx.clock.now()))
      this.#ctx.log.info('suspicion cleared: connection re-established', { peer: id })
  }

  /** The last connection to `id` closed: a suspect at once, redialled to tell a broken link from a dead node. */
  disconnected(id: string): void {
    const ctx = this.#ctx
    if (ctx.phase() === 'leaving' || ctx.phase() === 'stopped') return
    if (!ctx.table.closed(id, ctx.clock.now())) return
    this.#hooks.suspected(id, 'closed')
    // A broken link to a live node comes back at once; a dead node refuses the dial.
    void ctx.connector()?.redial(id)
  }

  /**
   * Whether this node judges `id`'s silence. A member of the view this node
   * has no connection to yet (the full mesh waits for the view to hold) is
   * the coordinator's to judge: the coordinator is connected to every
   * member, and its next view drops the dead. Everyone else is watched:
   * the coordinator, the member next in line for it, any member outside the
   * view, every member once the coordinator is gone here, and every member
   * when this node coordinates.
   */
  #watched(id: string, nextInLine: string | undefined): boolean {
    const { keeper, table } = this.#ctx
    const view = keeper.view
    if (keeper.isCoordinator || id === view.coordinator) return true
    // The member this node takes for its next coordinator (the oldest it holds alive), and every
    // member once the view's coordinator is gone here: nobody else judges them for this node. A
    // member cut off with a coordinator that died kept the dead one's view for good, waiting for
    // an unconnected older member (on the other side of a partition) to announce a view.
    if (id === nextInLine || !table.has(view.coordinator)) return true
    if (!view.members.some((m) => m.id === id)) return true
    return this.#ctx.connector()?.isConnected(id) ?? true
  }

  /** Asks a silent member directly whether it is alive (JGroups' VERIFY_SUSPECT). */
  #ask(id: string): void {
    const ctx = this.#ctx
    if (!ctx.up()) return
    ctx.transport
      .ping(id, ctx.clock.timeout(ctx.s.silentGrace))
      .then(() => {
        if (ctx.table.answered(id, ctx.clock.now())) this.#hooks.answered(id)
      })
      .catch(() => {})
  }
}
