import {
  formatAddress,
  type HostPort,
  type Logger,
  SafeEmitter,
  UpstreamResumedError,
} from '@meshcast/interface'
import { repullDelay } from './backoff.ts'
import { foreignId, foreignUrl } from './foreign.ts'
import type { DownReason, Relay, RelayPort } from './relay-port.ts'
import type { Carrier, StreamBook } from './stream-book.ts'
import { type Candidate, memberIndex, type OriginEntry, originsIndex, rankCandidates } from './upstream.ts'

export interface EdgeSettings {
  selfId: string
  /** RTMP addresses of cluster.xml `origins` (preferred upstreams, in order); names resolved by `setOriginAddresses` */
  origins: readonly OriginEntry[]
  /** true: pull only while someone watches; false: repeat every advertised stream at once */
  streamOnDemand: boolean
  /** ms a pull outlives its last player (and an unwatched pull with no upstream outlives its upstream) */
  lingerMs: number
  /** ms a player may wait for a stream nobody publishes yet before it is let go */
  waitMs: number
  /** ms between attempts when no upstream has the stream (cluster.xml retryDuration) */
  retryMs: number
  /** ms to the first re-pull after a live upstream was lost (doubling up to retryMs); default REPULL_FIRST_MS */
  repullFirstMs?: number
  /** end the players when the stream ends with no alternative (cluster.xml kickOnUnpublish) */
  kickOnUnpublish: boolean
  /** the URL to pull a carrier's stream from (default: its advert's); e.g. to fill in a wildcard host */
  urlOf?: (carrier: Carrier) => string
  /**
   * ms a pull keeps to the owner of the copy it plays (its advert's `owner`)
   * after the last copy of that owner left: meanwhile another owner's copy
   * of the same name is not pulled. 0: owners are not looked at. Default OWNER_HOLD_MS
   */
  ownerHoldMs?: number
  /** the clock the owner hold is measured by (ms); default Date.now */
  now?: () => number
}

/** How long a pull waits for its owner's copy to come back before any other may feed it (auth.owner_hold). */
export const OWNER_HOLD_MS = 30_000

/** What the controller tells about pulls (for logs, `/api/streams` and the adverts). */
export interface EdgeEvents {
  /** the pulls changed: started, switched upstream, lost one, ended */
  change: undefined
}

/** One stream this node pulls (or wants to). */
interface Pull {
  readonly path: string
  readonly relay: Relay
  upstream: Candidate | null
  connecting: boolean
  /** upstreams (member or foreign ids) that failed since the last success: tried last */
  readonly avoid: Set<string>
  retry: ReturnType<typeof setTimeout> | null
  linger: ReturnType<typeof setTimeout> | null
  wait: ReturnType<typeof setTimeout> | null
  /** ms since the epoch of the first media from the current upstream; 0 until the first */
  since: number
  /** the upstream lost (or whose advert was withdrawn) and not replaced yet */
  lostFrom: string | null
  /** an upstream advertised the stream while a connect was under way: weigh it when that ends */
  recheck: boolean
  /**
   * re-pulls since an upstream was lost while live (closed, stalled, error)
   * and not replaced; -1 when none was: then retries wait the full retryMs
   */
  repulls: number
  /** whose copies this pull takes (the first owned copy it played); null: anyone's */
  owner: string | null
  /** when (settings' clock) the owner was first seen with no copy left; null while it has one */
  ownerGone: number | null
  /** nodes whose copy of another owner was reported, so that each is logged once */
  readonly ignored: Set<string>
  closed: boolean
}

/** A pull as `/api/streams` and the adverts show it. */
export interface PullInfo {
  path: string
  /**
   * `node` is the member pulled from, or for a foreign origin its id
   * `rtmp://host:port` (`foreign` true; `via` empty: nothing is known beyond it)
   */
  upstream: {
    node: string
    rtmpUrl: string
    via: readonly string[]
    foreign: boolean
    /** the owner its advert names (null for a foreign origin): a relay advertises its copy with it */
    owner: string | null
  } | null
  since: number
}

/**
 * What the controller has done since it was made (monotonic, for metrics).
 * Switching to a preferred origin that starts advertising the stream is an
 * upgrade, not a failover: it is not counted.
 */
export interface EdgeCounters {
  /** pulls that got their first upstream */
  started: number
  /** attempts to pull from an upstream that failed (refused, timed out, no media) */
  failed: number
  /**
   * switches to another upstream after losing one (closed, stalled,
   * unpublished) or after its advert was withdrawn (e.g. an origin shutting down)
   */
  failovers: number
  /** copies of a stream from another owner than the pull's, left unused (a first sighting per node and pull) */
  ignoredCopies: number
}

/**
 * Decides what an edge (or relay) pulls, from where, and when to switch:
 * one pull per stream, ever; the best upstream first (`rankUpstreams`); at
 * once to the next when the upstream goes down; with none, again every
 * `retryMs`, or the moment an upstream advertises the stream again.
 * Foreign origins (`setForeign`: listed, with no meshcast node behind
 * them) take their place in the list and are pulled over plain RTMP.
 */
export class EdgeController {
  readonly events: SafeEmitter<EdgeEvents>
  readonly #s: EdgeSettings
  readonly #book: StreamBook
  readonly #port: RelayPort
  readonly #log: Logger
  readonly #pulls = new Map<string, Pull>()
  /** `origins` entries the node found no meshcast mesh at (`setForeign`) */
  #flagged: HostPort[] = []
  /** the `origins` entries with the addresses their names resolved to last */
  #origins: readonly OriginEntry[]
  readonly #counters: EdgeCounters = { started: 0, failed: 0, failovers: 0, ignoredCopies: 0 }
  #stopped = false
  readonly #unhook: (() => void)[] = []

  constructor(settings: EdgeSettings, book: StreamBook, port: RelayPort, logger: Logger) {
    this.#s = settings
    this.#origins = settings.origins
    this.#book = book
    this.#port = port
    this.#log = logger
    this.events = new SafeEmitter((err) =>
      this.#log.error('edge controller listener failed', { error: (err as Error).message }),
    )
  }

  start(): void {
    const onUpstream = ({ path, node }: { path: string; node: string }) => this.#upstreamAppeared(path, node)
    const onWithdrawn = ({ path, node }: { path: string; node: string }) =>
      this.#upstreamWithdrawn(path, node)
    this.#book.events.on('upstream', onUpstream)
    this.#book.events.on('withdrawn', onWithdrawn)
    this.#unhook.push(
      () => this.#book.events.off('upstream', onUpstream),
      () => this.#book.events.off('withdrawn', onWithdrawn),
    )
    if (!this.#s.streamOnDemand) for (const path of this.#book.paths()) this.#ensure(path)
  }

  stop(): void {
    this.#stopped = true
    for (const unhook of this.#unhook.splice(0)) unhook()
    for (const pull of [...this.#pulls.values()]) this.#end(pull, true, 'node stopping')
  }

  /** A player started on `path` here. */
  played(path: string): void {
    if (this.#stopped || this.#port.published(path)) return
    const pull = this.#ensure(path)
    if (pull === null) return
    if (pull.linger !== null) {
      clearTimeout(pull.linger)
      pull.linger = null
    }
    // also while a connect is under way: a foreign origin without the stream answers the play and
    // sends nothing, so the attempt fails only after the pull timeout, and the player must not wait forever
    if (pull.upstream === null && pull.wait === null) {
      this.#log.info('player waits for a stream no upstream feeds yet', { path, waitMs: this.#s.waitMs })
      pull.wait = setTimeout(() => {
        pull.wait = null
        if (pull.upstream !== null || pull.closed) return
        this.#port.kick(path, `stream not published within ${Math.round(this.#s.waitMs / 1000)} s`)
        this.#lingerIfIdle(pull)
      }, this.#s.waitMs)
    }
  }

  /** A player of `path` here left. */
  stopped(path: string): void {
    const pull = this.#pulls.get(path)
    if (pull !== undefined) this.#lingerIfIdle(pull)
  }

  counters(): EdgeCounters {
    return { ...this.#counters }
  }

  pulls(): PullInfo[] {
    return [...this.#pulls.values()].map((p) => ({
      path: p.path,
      upstream: p.upstream === null ? null : this.#info(p.upstream, p.path),
      since: p.since,
    }))
  }

  #info(up: Candidate, path: string): NonNullable<PullInfo['upstream']> {
    if (up.kind === 'foreign')
      return { node: up.id, rtmpUrl: foreignUrl(up.origin, path), via: [], foreign: true, owner: null }
    const { member, advert } = up.carrier
    return { node: member.id, rtmpUrl: advert.rtmpUrl, via: advert.via, foreign: false, owner: advert.owner }
  }

  /**
   * The `origins` entries behind which the node found no meshcast mesh
   * (the whole list each time). Each is tried over plain RTMP for any
   * stream, in its place in the list, unless a member of the view has that
   * address: a meshcast node there takes precedence. A newly foreign entry
   * is tried at once by the pulls that have no upstream.
   */
  setForeign(entries: readonly HostPort[]): void {
    const listed = entries.filter((e) => this.#origins.some((o) => o.host === e.host && o.port === e.port))
    const before = new Set(this.#flagged.map(foreignId))
    const after = new Set(listed.map(foreignId))
    this.#flagged = listed
    const added = listed.filter((o) => !before.has(foreignId(o)))
    for (const o of added)
      this.#log.info(`origin ${formatAddress(o)} has no meshcast mesh; pulling from it over plain RTMP`, {
        origin: formatAddress(o),
      })
    for (const id of before)
      if (!after.has(id))
        this.#log.info(`origin ${id.slice('rtmp://'.length)} is a meshcast node; its adverts decide`, {
          origin: id.slice('rtmp://'.length),
        })
    if (added.length === 0 || this.#stopped) return
    for (const pull of this.#pulls.values())
      if (pull.upstream === null && !pull.connecting && !pull.closed) {
        pull.avoid.clear()
        void this.#connect(pull, 'a foreign origin may have it')
      }
  }

  /**
   * The addresses each DNS-name entry of `origins` resolves to now, by
   * name (the whole map each time; a name left out keeps none). A member at
   * one of them is that entry's: it ranks in the entry's place, and a
   * pull from a less preferred upstream moves to it.
   */
  setOriginAddresses(addresses: ReadonlyMap<string, readonly string[]>): void {
    this.#origins = this.#s.origins.map((o) => {
      const found = addresses.get(o.host)
      return found === undefined
        ? { host: o.host, port: o.port }
        : { host: o.host, port: o.port, addresses: found }
    })
    if (!this.#stopped) for (const pull of this.#pulls.values()) this.#upgrade(pull)
  }

  /** The flagged entries no member of the view stands behind now. */
  #foreign(): HostPort[] {
    if (this.#flagged.length === 0) return []
    const members = this.#book.members().filter((m) => m.id !== this.#s.selfId)
    const entry = (o: HostPort) => this.#origins.find((e) => e.host === o.host && e.port === o.port) ?? o
    return this.#flagged.filter((o) => !members.some((m) => memberIndex(m, [entry(o)]) === 0))
  }

  #upstreamAppeared(path: string, node: string): void {
    if (this.#stopped || node === this.#s.selfId) return
    const pull = this.#pulls.get(path)
    if (pull === undefined) {
      if (!this.#s.streamOnDemand) this.#ensure(path)
      return
    }
    const copy = this.#book.upstreams(path).find((c) => c.member.id === node)
    if (copy !== undefined && !this.#takes(pull, copy)) {
      this.#ignored(pull, copy)
      // it may still matter: once the owner's hold is over, the next attempt weighs every copy
      if (pull.upstream !== null || pull.connecting) return
    }
    if (pull.connecting) {
      pull.recheck = true
      return
    }
    if (pull.upstream === null) {
      // The advert, not the retry timer, brings a lost stream back.
      pull.avoid.clear()
      void this.#connect(pull, 'an upstream advertised it')
      return
    }
    this.#upgrade(pull)
  }

  /**
   * Moves to a listed origin ranked above the current upstream, when one
   * has the stream. Never to a foreign origin (only a play would tell
   * whether it has the stream); a foreign upstream whose address is now a
   * member ranks as unlisted, so that member's advert takes over.
   */
  #upgrade(pull: Pull): void {
    if (pull.upstream === null || pull.closed || pull.connecting) return
    const now = this.#listedIndex(pull.upstream)
    const better = this.#book
      .upstreams(pull.path)
      .filter((c) => c.member.id !== this.#s.selfId && !pull.avoid.has(c.member.id) && this.#takes(pull, c))
      .map((c) => originsIndex(c, this.#origins))
      .filter((i) => i !== -1 && (now === -1 || i < now))
    if (better.length > 0) void this.#connect(pull, 'a preferred origin has it')
  }

  /** Where the upstream stands in `origins` (-1: unlisted, or a foreign entry a member now stands behind). */
  #listedIndex(up: Candidate): number {
    if (up.kind === 'mesh') {
      // the member as booked now: where it is reached may have become known since the pull began
      const member = this.#book.members().find((m) => m.id === up.id) ?? up.carrier.member
      return memberIndex(member, this.#origins, up.carrier.advert.rtmpUrl)
    }
    const { host, port } = up.origin
    return this.#foreign().some((o) => o.host === host && o.port === port)
      ? this.#origins.findIndex((o) => o.host === host && o.port === port)
      : -1
  }

  #upstreamWithdrawn(path: string, node: string): void {
    const pull = this.#pulls.get(path)
    // a connect under way settles it as it ends: its upstream is no longer offered
    if (pull === undefined || pull.upstream?.id !== node || pull.connecting) return
    if (this.#candidates(pull).length === 0) {
      // node-media-server holds an unpublished stream open for a grace period: the advert is the faster sign.
      this.#down(pull, 'unpublished', 'the upstream withdrew its advert')
      return
    }
    // Make before break: the upstream may still feed (an origin shutting down withdraws first and
    // waits for its edges), so it feeds the players until another one delivers media.
    pull.lostFrom = node
    this.#log.info('upstream withdrew its advert; switching to another', { path, upstream: node })
    void this.#connect(pull, 'the upstream withdrew its advert')
  }

  /** The pull for `path`, opened if needed (null for a stream published here). */
  #ensure(path: string): Pull | null {
    const existing = this.#pulls.get(path)
    if (existing !== undefined) return existing
    if (this.#port.published(path)) return null
    const relay = this.#port.open(path)
    const pull: Pull = {
      path,
      relay,
      upstream: null,
      connecting: false,
      avoid: new Set(),
      retry: null,
      linger: null,
      wait: null,
      since: 0,
      lostFrom: null,
      recheck: false,
      repulls: -1,
      owner: null,
      ownerGone: null,
      ignored: new Set(),
      closed: false,
    }
    this.#pulls.set(path, pull)
    relay.onDown((reason, detail) => {
      if (!pull.closed) this.#down(pull, reason, detail)
    })
    relay.onQuiet((detail) => this.#quiet(pull, detail))
    void this.#connect(pull, 'first pull')
    return pull
  }

  #candidates(pull: Pull): Candidate[] {
    const self = this.#s.selfId
    const usable = this.#book
      .upstreams(pull.path)
      .filter((c) => c.member.id !== self && !c.advert.via.includes(self))
    if (pull.owner === null || this.#holdMs === 0)
      return rankCandidates(usable, this.#origins, this.#foreign(), pull.avoid)
    const owned = usable.filter((c) => this.#takes(pull, c))
    const now = this.#now()
    if (owned.length > 0) pull.ownerGone = null
    else if (pull.ownerGone === null) pull.ownerGone = now
    else if (now - pull.ownerGone >= this.#holdMs) {
      this.#log.warn("the stream's owner has had no copy for the owner hold; any copy may feed it now", {
        path: pull.path,
        holdMs: this.#holdMs,
      })
      pull.owner = null
      pull.ownerGone = null
      pull.ignored.clear()
      return rankCandidates(usable, this.#origins, this.#foreign(), pull.avoid)
    }
    // a foreign origin tells no owner: it could be anyone's copy
    return rankCandidates(owned, this.#origins, [], pull.avoid)
  }

  get #holdMs(): number {
    return this.#s.ownerHoldMs ?? OWNER_HOLD_MS
  }

  #now(): number {
    return (this.#s.now ?? Date.now)()
  }

  /** Whether the pull may take this copy: one from its owner, or any when it has none (or owners are not looked at). */
  #takes(pull: Pull, c: Carrier): boolean {
    return pull.owner === null || this.#holdMs === 0 || c.advert.owner === pull.owner
  }

  #ignored(pull: Pull, c: Carrier): void {
    if (pull.ignored.has(c.member.id)) return
    pull.ignored.add(c.member.id)
    this.#counters.ignoredCopies++
    this.#log.warn('a copy of the stream from another publisher is not pulled', {
      path: pull.path,
      node: c.member.id,
      why: 'the stream is owned by the publisher (or redundancy group) of the copy first played here',
    })
  }

  #urlOf(c: Candidate, path: string): string {
    if (c.kind === 'foreign') return foreignUrl(c.origin, path)
    return this.#s.urlOf?.(c.carrier) ?? c.carrier.advert.rtmpUrl
  }

  /**
   * The upstream fell silent but may yet resume: pull the best other one,
   * make-before-break (the relay gives it up should the quiet one resume
   * before it delivers). Nothing to do with no alternative: the stall decides.
   */
  #quiet(pull: Pull, detail: string): void {
    const current = pull.upstream
    if (pull.closed || pull.connecting || current === null) return
    if (!this.#candidates(pull).some((c) => c.id !== current.id && !pull.avoid.has(c.id))) return
    this.#log.info('upstream quiet; pulling another', { path: pull.path, upstream: current.id, detail })
    pull.lostFrom = current.id
    void this.#connect(pull, 'the upstream fell quiet', current.id)
  }

  /** Tries the upstreams best first (but `skip`); with none, waits for the retry timer or an advert. */
  async #connect(pull: Pull, why: string, skip?: string): Promise<void> {
    if (pull.connecting || pull.closed) return
    pull.connecting = true
    this.#clearRetry(pull)
    try {
      const tried = new Set<string>(skip === undefined ? [] : [skip])
      for (;;) {
        const next = this.#candidates(pull).find((c) => !tried.has(c.id) && !pull.avoid.has(c.id))
        if (next === undefined) break
        tried.add(next.id)
        const { id } = next
        const url = this.#urlOf(next, pull.path)
        try {
          await pull.relay.pull(url)
        } catch (err) {
          if (err instanceof UpstreamResumedError && pull.upstream !== null) {
            // the quiet upstream came back first: it feeds on, and the alternative did nothing wrong
            pull.lostFrom = null
            this.#log.info('upstream resumed; staying', { path: pull.path, upstream: pull.upstream.id })
            return
          }
          this.#counters.failed++
          pull.avoid.add(id)
          this.#log.warn('cannot pull stream from upstream', {
            path: pull.path,
            upstream: id,
            url,
            error: (err as Error).message,
          })
          // an upgrade (or a pull for a quiet upstream) failed: the current upstream, still advertised, still feeds
          if (pull.upstream !== null && this.#offered(pull.path, pull.upstream)) {
            if (skip !== undefined) pull.lostFrom = null
            return
          }
          continue
        }
        if (pull.closed) return
        const switched = pull.upstream !== null
        if (pull.since === 0) this.#counters.started++
        else if (pull.lostFrom !== null && pull.lostFrom !== id) this.#counters.failovers++
        pull.upstream = next
        // an owned copy binds the pull to its owner; one published without credentials binds nothing
        if (next.kind === 'mesh' && next.carrier.advert.owner !== null) {
          pull.owner = next.carrier.advert.owner
          pull.ownerGone = null
        }
        pull.since = Date.now()
        pull.lostFrom = null
        pull.repulls = -1
        pull.avoid.clear()
        if (pull.wait !== null) clearTimeout(pull.wait)
        pull.wait = null
        this.#log.info(switched ? 'switched upstream' : 'pulling stream', {
          path: pull.path,
          upstream: id,
          url,
          why,
          ...(next.kind === 'foreign' ? { foreign: true } : {}),
        })
        this.events.emit('change', undefined)
        return
      }
      // every alternative failed while a withdrawn upstream still fed: it is lost after all
      if (pull.upstream !== null && !this.#offered(pull.path, pull.upstream))
        this.#lose(pull, 'unpublished', 'the upstream withdrew its advert and no other one could feed')
      if (pull.upstream === null) this.#noUpstream(pull)
    } finally {
      pull.connecting = false
      // an advert that came while connecting may name a better upstream than the one just reached
      if (pull.recheck) {
        pull.recheck = false
        if (pull.upstream !== null) this.#upgrade(pull)
        else if (this.#candidates(pull).some((c) => !pull.avoid.has(c.id)))
          void this.#connect(pull, 'an upstream advertised it')
      }
    }
  }

  /** Whether `c` still advertises `path` as an upstream (a foreign origin never withdraws: it feeds or it fails). */
  #offered(path: string, c: Candidate): boolean {
    return c.kind === 'foreign' || this.#book.upstreams(path).some((u) => u.member.id === c.id)
  }

  #down(pull: Pull, reason: DownReason, detail: string): void {
    if (this.#lose(pull, reason, detail)) void this.#connect(pull, `upstream ${reason}`)
  }

  /** Forgets the current upstream; false when there was none. */
  #lose(pull: Pull, reason: DownReason, detail: string): boolean {
    const lost = pull.upstream
    if (lost === null) return false
    pull.upstream = null
    pull.lostFrom = lost.id
    pull.avoid.add(lost.id)
    // a live upstream cut (slow pull, restart) is often back at once; an unpublished stream is not
    if (reason !== 'unpublished' && pull.repulls < 0) pull.repulls = 0
    this.#log.warn('upstream lost', { path: pull.path, upstream: lost.id, reason, detail })
    this.events.emit('change', undefined)
    return true
  }

  #noUpstream(pull: Pull): void {
    if (pull.closed) return
    if (this.#s.kickOnUnpublish && pull.since > 0) {
      this.#end(pull, true, 'the stream ended and no other upstream has it (kickOnUnpublish)')
      return
    }
    const delay = this.#retryDelay(pull)
    this.#log.info('no upstream has the stream; retrying', { path: pull.path, inMs: delay })
    this.#clearRetry(pull)
    pull.retry = setTimeout(() => {
      pull.retry = null
      pull.avoid.clear()
      void this.#connect(pull, 'retry')
    }, delay)
    this.#lingerIfIdle(pull)
  }

  /**
   * retryMs, or sooner with backoff while a live upstream was lost and some
   * upstream still offers the stream (it refused or had no media yet), or
   * when the owner's hold ends first.
   */
  #retryDelay(pull: Pull): number {
    const delay =
      pull.repulls < 0 || this.#candidates(pull).length === 0
        ? this.#s.retryMs
        : repullDelay(pull.repulls++, this.#s.retryMs, this.#s.repullFirstMs)
    // the owner's hold ends sooner: look again the moment it does
    if (pull.owner === null || pull.ownerGone === null || this.#holdMs === 0) return delay
    return Math.min(delay, Math.max(1, pull.ownerGone + this.#holdMs - this.#now()))
  }

  /** A pull nobody watches ends after the linger (on demand always; otherwise once it has no upstream). */
  #lingerIfIdle(pull: Pull): void {
    // Players are counted when the timer fires: at a player's stop event the media server may still count it.
    if (pull.closed || pull.linger !== null) return
    if (!this.#s.streamOnDemand && pull.upstream !== null) return
    pull.linger = setTimeout(() => {
      pull.linger = null
      if (this.#port.subscribers(pull.path) > 0) return
      if (!this.#s.streamOnDemand && pull.upstream !== null) return
      this.#end(pull, false, 'no players')
    }, this.#s.lingerMs)
  }

  #clearRetry(pull: Pull): void {
    if (pull.retry !== null) clearTimeout(pull.retry)
    pull.retry = null
  }

  #end(pull: Pull, kick: boolean, why: string): void {
    if (pull.closed) return
    pull.closed = true
    this.#clearRetry(pull)
    for (const t of [pull.linger, pull.wait]) if (t !== null) clearTimeout(t)
    this.#pulls.delete(pull.path)
    pull.relay.close(kick)
    this.#log.info('pull ended', { path: pull.path, why })
    this.events.emit('change', undefined)
  }
}
