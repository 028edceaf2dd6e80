import type { DownReason } from '@meshcast/interface'
import { repullDelay } from '../backoff.ts'
import { foreignUrl } from '../foreign.ts'
import type { Carrier } from '../stream-book.ts'
import { type Candidate, memberIndex, originsIndex, rankCandidates } from '../upstream.ts'
import type {
  Attempt,
  Effect,
  Phase,
  PullEvent,
  PullSettings,
  PullState,
  Step,
  TimerName,
  World,
} from './types.ts'

/**
 * One pull as a pure state machine: `step(settings, state, event, world)`
 * gives the next state and the effects to carry out (pull a URL, arm a
 * timer, kick the players, close the relay, log, count). It reads no clock
 * and does no I/O: `EdgeController` owns the timers, the relays and the
 * stream book, and feeds back what happened as events. mediamtx's split:
 * the supervisor decides retries and cancellation, a source is one attempt.
 */

/** A new pull: waiting, with nothing armed. */
export function initialPull(path: string): PullState {
  return {
    path,
    phase: { kind: 'waiting', lostFrom: null },
    avoid: [],
    since: 0,
    repulls: -1,
    owner: null,
    ownerGone: null,
    ignored: [],
    timers: { retry: false, linger: false, wait: false },
    attempts: 0,
  }
}

/** The upstream that feeds the pull now, if any. */
export function upstreamOf(state: PullState): Candidate | null {
  const { phase } = state
  return phase.kind === 'live' || phase.kind === 'switching' ? phase.upstream : null
}

/** The next state and what to do, for one event. Pure: `state` is not changed. */
export function step(settings: PullSettings, state: PullState, event: PullEvent, world: World): Step {
  const run = new Transition(settings, state, world)
  run.handle(event)
  return { state: run.s, effects: run.fx }
}

type Draft = { -readonly [K in keyof PullState]: PullState[K] } & { timers: Record<TimerName, boolean> }

/** One event's transition: a draft of the state and the effects so far. */
class Transition {
  readonly #set: PullSettings
  readonly #w: World
  s: Draft
  readonly fx: Effect[] = []

  constructor(settings: PullSettings, state: PullState, world: World) {
    this.#set = settings
    this.#w = world
    this.s = { ...state, timers: { ...state.timers } }
  }

  handle(e: PullEvent): void {
    if (this.s.phase.kind === 'closed') return
    switch (e.type) {
      case 'open':
        this.#connect('first pull')
        break
      case 'play':
        this.#played()
        break
      case 'leave':
        this.#lingerIfIdle()
        break
      case 'advertised':
        this.#advertised(e.node)
        break
      case 'withdrawn':
        this.#withdrawn(e.node)
        break
      case 'foreign':
        if (this.#upstream === null && !this.#attempting) {
          this.s.avoid = []
          this.#connect('a foreign origin may have it')
        }
        break
      case 'origins':
        this.#upgrade()
        break
      case 'down':
        if (this.#lose(e.reason, e.detail)) this.#connect(`upstream ${e.reason}`)
        break
      case 'quiet':
        this.#quiet(e.detail)
        break
      case 'pulled':
        this.#pulled(e.attempt)
        break
      case 'failed':
        this.#failed(e.attempt, e.error)
        break
      case 'resumed':
        this.#resumed(e.attempt, e.error)
        break
      case 'timer':
        this.#timer(e.name)
        break
      case 'stop':
        this.#end(true, 'node stopping')
        break
    }
  }

  get #upstream(): Candidate | null {
    return upstreamOf(this.s)
  }

  get #attempt(): Attempt | null {
    const { phase } = this.s
    return phase.kind === 'trying' || phase.kind === 'switching' ? phase.attempt : null
  }

  get #attempting(): boolean {
    return this.#attempt !== null
  }

  #log(level: 'info' | 'warn', message: string, fields: Record<string, unknown> = {}): void {
    this.fx.push({ type: 'log', level, message, fields: { path: this.s.path, ...fields } })
  }

  #arm(timer: TimerName, ms: number): void {
    this.s.timers[timer] = true
    this.fx.push({ type: 'arm', timer, ms })
  }

  #disarm(timer: TimerName): void {
    if (!this.s.timers[timer]) return
    this.s.timers[timer] = false
    this.fx.push({ type: 'disarm', timer })
  }

  #avoid(id: string): void {
    if (!this.s.avoid.includes(id)) this.s.avoid = [...this.s.avoid, id]
  }

  // --- players ---

  #played(): void {
    this.#disarm('linger')
    // also while an attempt is under way: a foreign origin without the stream answers the play and
    // sends nothing, so the attempt fails only after the pull timeout, and the player must not wait forever
    if (this.#upstream === null && !this.s.timers.wait) {
      this.#log('info', 'player waits for a stream no upstream feeds yet', { waitMs: this.#set.waitMs })
      this.#arm('wait', this.#set.waitMs)
    }
  }

  /** A pull nobody watches ends after the linger (on demand always; otherwise once it has no upstream). */
  #lingerIfIdle(): void {
    // Players are counted when the timer fires: at a player's stop event the media server may still count it.
    if (this.s.timers.linger) return
    if (!this.#set.streamOnDemand && this.#upstream !== null) return
    this.#arm('linger', this.#set.lingerMs)
  }

  #timer(name: TimerName): void {
    // a timer the state does not know as armed is a stray one (disarmed meanwhile): nothing to do
    if (!this.s.timers[name]) return
    this.s.timers[name] = false
    if (name === 'retry') {
      this.s.avoid = []
      this.#connect('retry')
    } else if (name === 'linger') {
      if (this.#w.subscribers > 0) return
      if (!this.#set.streamOnDemand && this.#upstream !== null) return
      this.#end(false, 'no players')
    } else {
      if (this.#upstream !== null) return
      this.fx.push({
        type: 'kick',
        why: `stream not published within ${Math.round(this.#set.waitMs / 1000)} s`,
      })
      this.#lingerIfIdle()
    }
  }

  // --- adverts ---

  #advertised(node: string): void {
    if (node === this.#set.selfId) return
    const copy = this.#w.upstreams.find((c) => c.member.id === node)
    if (copy !== undefined && !this.#takes(copy)) {
      this.#ignored(copy)
      // it may still matter: once the owner's hold is over, the next attempt weighs every copy
      if (this.#upstream !== null || this.#attempting) return
    }
    const { phase } = this.s
    if (phase.kind === 'trying' || phase.kind === 'switching') {
      this.s.phase = { ...phase, attempt: { ...phase.attempt, recheck: true } }
      return
    }
    if (this.#upstream === null) {
      // The advert, not the retry timer, brings a lost stream back.
      this.s.avoid = []
      this.#connect('an upstream advertised it')
      return
    }
    this.#upgrade()
  }

  #withdrawn(node: string): void {
    const { phase } = this.s
    // an attempt under way decides it as it ends: its upstream is no longer offered
    if (phase.kind !== 'live' || phase.upstream.id !== node) return
    if (this.#candidates().length === 0) {
      // node-media-server holds an unpublished stream open for a grace period: the advert is the faster sign.
      if (this.#lose('unpublished', 'the upstream withdrew its advert')) this.#connect('upstream unpublished')
      return
    }
    // Make before break: the upstream may still feed (an origin shutting down withdraws first and
    // waits for its edges), so it feeds the players until another one delivers media.
    this.#log('info', 'upstream withdrew its advert; switching to another', { upstream: node })
    this.#connect('the upstream withdrew its advert', null, node)
  }

  /**
   * Moves to a listed origin ranked above the current upstream, when one
   * has the stream. Never to a foreign origin (only a play would tell
   * whether it has the stream); a foreign upstream whose address is now a
   * member ranks as unlisted, so that member's advert takes over.
   */
  #upgrade(): void {
    const up = this.#upstream
    if (up === null || this.#attempting) return
    const now = this.#listedIndex(up)
    const better = this.#w.upstreams
      .filter(
        (c) => c.member.id !== this.#set.selfId && !this.s.avoid.includes(c.member.id) && this.#takes(c),
      )
      .map((c) => originsIndex(c, this.#w.origins))
      .filter((i) => i !== -1 && (now === -1 || i < now))
    if (better.length > 0) this.#connect('a preferred origin has it')
  }

  /** Where the upstream stands in `origins` (-1: unlisted, or a foreign entry a member now stands behind). */
  #listedIndex(up: Candidate): number {
    const { members, origins, foreign } = this.#w
    if (up.kind === 'mesh') {
      // the member as booked now: where it is reached may have become known since the pull began
      const member = members.find((m) => m.id === up.id) ?? up.carrier.member
      return memberIndex(member, origins, up.carrier.advert.rtmpUrl)
    }
    const { host, port } = up.origin
    return foreign.some((o) => o.host === host && o.port === port)
      ? origins.findIndex((o) => o.host === host && o.port === port)
      : -1
  }

  /**
   * The upstream fell silent but may yet resume: pull the best other one,
   * make-before-break (the relay gives it up should the quiet one resume
   * before it delivers). Nothing to do with no alternative: the stall decides.
   */
  #quiet(detail: string): void {
    const { phase } = this.s
    if (phase.kind !== 'live') return
    const current = phase.upstream.id
    if (!this.#candidates().some((c) => c.id !== current && !this.s.avoid.includes(c.id))) return
    this.#log('info', 'upstream quiet; pulling another', { upstream: current, detail })
    this.#connect('the upstream fell quiet', current, current)
  }

  // --- owners ---

  /** Whether the pull may take this copy: one from its owner, or any when it has none (or owners are not looked at). */
  #takes(c: Carrier): boolean {
    return this.s.owner === null || this.#set.ownerHoldMs === 0 || c.advert.owner === this.s.owner
  }

  #ignored(c: Carrier): void {
    if (this.s.ignored.includes(c.member.id)) return
    this.s.ignored = [...this.s.ignored, c.member.id]
    this.fx.push({ type: 'count', counter: 'ignoredCopies' })
    this.#log('warn', 'a copy of the stream from another publisher is not pulled', {
      node: c.member.id,
      why: 'the stream is owned by the publisher (or redundancy group) of the copy first played here',
    })
  }

  /** The upstreams to try, best first; marks the owner gone, or lets it go once its hold is over. */
  #candidates(): Candidate[] {
    const self = this.#set.selfId
    const { origins, foreign, now } = this.#w
    const usable = this.#w.upstreams.filter((c) => c.member.id !== self && !c.advert.via.includes(self))
    const avoid = new Set(this.s.avoid)
    const hold = this.#set.ownerHoldMs
    if (this.s.owner === null || hold === 0) return rankCandidates(usable, origins, foreign, avoid)
    const owned = usable.filter((c) => this.#takes(c))
    if (owned.length > 0) this.s.ownerGone = null
    else if (this.s.ownerGone === null) this.s.ownerGone = now
    else if (now - this.s.ownerGone >= hold) {
      this.#log('warn', "the stream's owner has had no copy for the owner hold; any copy may feed it now", {
        holdMs: hold,
      })
      this.s.owner = null
      this.s.ownerGone = null
      this.s.ignored = []
      return rankCandidates(usable, origins, foreign, avoid)
    }
    // a foreign origin tells no owner: it could be anyone's copy
    return rankCandidates(owned, origins, [], avoid)
  }

  /** Whether `c` still advertises the stream (a foreign origin never withdraws: it feeds or it fails). */
  #offered(c: Candidate): boolean {
    return c.kind === 'foreign' || this.#w.upstreams.some((u) => u.member.id === c.id)
  }

  #urlOf(c: Candidate): string {
    if (c.kind === 'foreign') return foreignUrl(c.origin, this.s.path)
    return this.#set.urlOf?.(c.carrier) ?? c.carrier.advert.rtmpUrl
  }

  // --- attempts ---

  /**
   * Begins a round of tries, best first (but `skip`), unless one is under
   * way. `lostFrom`: the upstream this round replaces while it still feeds.
   */
  #connect(why: string, skip: string | null = null, lostFrom: string | null = null): void {
    if (this.#attempting) return
    this.#disarm('retry')
    const { phase } = this.s
    const lost = phase.kind === 'waiting' ? phase.lostFrom : lostFrom
    this.#next({ why, skip, tried: skip === null ? [] : [skip], recheck: false }, lost)
  }

  /** Tries the best candidate this round has not tried; with none, the round ends. */
  #next(round: Omit<Attempt, 'id' | 'target' | 'url'>, lostFrom: string | null): void {
    const target = this.#candidates().find((c) => !round.tried.includes(c.id) && !this.s.avoid.includes(c.id))
    const up = this.#upstream
    if (target === undefined) {
      this.s.phase = up === null ? { kind: 'waiting', lostFrom } : { kind: 'live', upstream: up }
      this.#exhausted()
      this.#recheck(round.recheck)
      return
    }
    const id = ++this.s.attempts
    const url = this.#urlOf(target)
    const attempt: Attempt = { ...round, id, target, url, tried: [...round.tried, target.id] }
    this.s.phase =
      up === null
        ? { kind: 'trying', attempt, lostFrom }
        : { kind: 'switching', upstream: up, attempt, lostFrom }
    this.fx.push({ type: 'pull', attempt: id, url })
  }

  /** The attempt under way, if `id` is it (a result of an older one is stale). */
  #current(id: number): Attempt | null {
    const attempt = this.#attempt
    return attempt !== null && attempt.id === id ? attempt : null
  }

  #pulled(id: number): void {
    const attempt = this.#current(id)
    if (attempt === null) return
    const phase = this.s.phase as Extract<Phase, { kind: 'trying' | 'switching' }>
    const { target } = attempt
    if (this.s.since === 0) this.fx.push({ type: 'count', counter: 'started' })
    else if (phase.lostFrom !== null && phase.lostFrom !== target.id)
      this.fx.push({ type: 'count', counter: 'failovers' })
    this.s.phase = { kind: 'live', upstream: target }
    // an owned copy binds the pull to its owner; one published without credentials binds nothing
    if (target.kind === 'mesh' && target.carrier.advert.owner !== null) {
      this.s.owner = target.carrier.advert.owner
      this.s.ownerGone = null
    }
    this.s.since = this.#w.now
    this.s.repulls = -1
    this.s.avoid = []
    this.#disarm('wait')
    this.#log('info', phase.kind === 'switching' ? 'switched upstream' : 'pulling stream', {
      upstream: target.id,
      url: attempt.url,
      why: attempt.why,
      ...(target.kind === 'foreign' ? { foreign: true } : {}),
    })
    this.fx.push({ type: 'changed' })
    this.#recheck(attempt.recheck)
  }

  #failed(id: number, error: string): void {
    const attempt = this.#current(id)
    if (attempt === null) return
    const phase = this.s.phase as Extract<Phase, { kind: 'trying' | 'switching' }>
    this.fx.push({ type: 'count', counter: 'failed' })
    this.#avoid(attempt.target.id)
    this.#log('warn', 'cannot pull stream from upstream', {
      upstream: attempt.target.id,
      url: attempt.url,
      error,
    })
    // an upgrade (or a pull for a quiet upstream) failed: the current upstream, still advertised, still feeds
    if (phase.kind === 'switching' && this.#offered(phase.upstream)) {
      this.s.phase = { kind: 'live', upstream: phase.upstream }
      this.#recheck(attempt.recheck)
      return
    }
    this.#next(attempt, phase.lostFrom)
  }

  #resumed(id: number, error: string): void {
    const attempt = this.#current(id)
    if (attempt === null) return
    const { phase } = this.s
    // only a round begun for a quiet upstream (it skips that one) is given up for its resuming
    if (phase.kind !== 'switching' || attempt.skip === null) {
      this.#failed(id, error)
      return
    }
    // the quiet upstream came back first: it feeds on, and the alternative did nothing wrong
    this.#log('info', 'upstream resumed; staying', { upstream: phase.upstream.id })
    this.s.phase = { kind: 'live', upstream: phase.upstream }
    // a withdrawal during the attempt waited for it to end: it counts now
    if (!this.#offered(phase.upstream)) this.#withdrawn(phase.upstream.id)
    else this.#recheck(attempt.recheck)
  }

  /** A round found nobody left to try. */
  #exhausted(): void {
    const up = this.#upstream
    // every alternative failed while a withdrawn upstream still fed: it is lost after all
    if (up !== null && !this.#offered(up))
      this.#lose('unpublished', 'the upstream withdrew its advert and no other one could feed')
    if (this.#upstream === null) this.#noUpstream()
  }

  /** An advert came during the round: it may name a better upstream than the one the round ended with. */
  #recheck(wanted: boolean): void {
    if (!wanted || this.s.phase.kind === 'closed') return
    if (this.#upstream !== null) this.#upgrade()
    else if (this.#candidates().some((c) => !this.s.avoid.includes(c.id)))
      this.#connect('an upstream advertised it')
  }

  /** Forgets the current upstream; false when there was none. */
  #lose(reason: DownReason, detail: string): boolean {
    const { phase } = this.s
    if (phase.kind !== 'live' && phase.kind !== 'switching') return false
    const lost = phase.upstream
    this.s.phase =
      phase.kind === 'live'
        ? { kind: 'waiting', lostFrom: lost.id }
        : { kind: 'trying', attempt: phase.attempt, lostFrom: lost.id }
    this.#avoid(lost.id)
    // a live upstream cut (slow pull, restart) is often back at once; an unpublished stream is not
    if (reason !== 'unpublished' && this.s.repulls < 0) this.s.repulls = 0
    this.#log('warn', 'upstream lost', { upstream: lost.id, reason, detail })
    this.fx.push({ type: 'changed' })
    return true
  }

  #noUpstream(): void {
    if (this.#set.kickOnUnpublish && this.s.since > 0) {
      this.#end(true, 'the stream ended and no other upstream has it (kickOnUnpublish)')
      return
    }
    const delay = this.#retryDelay()
    this.#log('info', 'no upstream has the stream; retrying', { inMs: delay })
    this.#disarm('retry')
    this.#arm('retry', delay)
    this.#lingerIfIdle()
  }

  /**
   * retryMs, or sooner with backoff while a live upstream was lost and some
   * upstream still offers the stream (it refused or had no media yet), or
   * when the owner's hold ends first.
   */
  #retryDelay(): number {
    const { retryMs, repullFirstMs, ownerHoldMs } = this.#set
    let delay = retryMs
    if (this.s.repulls >= 0 && this.#candidates().length > 0)
      delay = repullDelay(this.s.repulls++, retryMs, repullFirstMs)
    // the owner's hold ends sooner: look again the moment it does
    if (this.s.owner === null || this.s.ownerGone === null || ownerHoldMs === 0) return delay
    return Math.min(delay, Math.max(1, this.s.ownerGone + ownerHoldMs - this.#w.now))
  }

  #end(kick: boolean, why: string): void {
    for (const timer of ['retry', 'linger', 'wait'] as const) this.#disarm(timer)
    this.s.phase = { kind: 'closed' }
    this.fx.push({ type: 'close', kick })
    this.#log('info', 'pull ended', { why })
    this.fx.push({ type: 'changed' })
  }
}
