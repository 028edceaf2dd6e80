import {
  formatAddress,
  type HostPort,
  type Logger,
  type Relay,
  type RelayPort,
  SafeEmitter,
  UpstreamResumedError,
} from '@meshcast/interface'
import { foreignId, foreignUrl } from './foreign.ts'
import { initialPull, step, upstreamOf } from './pull/machine.ts'
import type { Effect, PullEvent, PullSettings, PullState, TimerName, World } from './pull/types.ts'
import type { StreamBook } from './stream-book.ts'
import { type Candidate, memberIndex, type OriginEntry } from './upstream.ts'

export interface EdgeSettings extends Omit<PullSettings, 'ownerHoldMs'> {
  /** RTMP addresses of cluster.xml `origins` (preferred upstreams, in order); names resolved by `setOriginAddresses` */
  origins: readonly OriginEntry[]
  /**
   * ms a pull keeps to the owner of the copy it plays (its advert's `owner`)
   * after the last copy of that owner left: meanwhile another owner's copy
   * of the same name is not pulled. 0: owners are not looked at. Default OWNER_HOLD_MS
   */
  ownerHoldMs?: number
  /** the clock the owner hold and `since` are measured by (ms since the epoch); default Date.now */
  now?: () => number
}

/** How long a pull waits for its owner's copy to come back before any other may feed it (auth.owner_hold). */
export const OWNER_HOLD_MS = 30_000

/** What the controller tells about pulls (for logs, `/api/streams` and the adverts). */
export interface EdgeEvents {
  /** the pulls changed: started, switched upstream, lost one, ended */
  change: undefined
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

/** One pull and what carries it out: its state, its relay, its timers. */
interface Running {
  state: PullState
  readonly relay: Relay
  readonly timers: Map<TimerName, ReturnType<typeof setTimeout>>
}

/**
 * Decides what an edge (or relay) pulls, from where, and when to switch:
 * one pull per stream, ever; the best upstream first (`rankUpstreams`); at
 * once to the next when the upstream goes down; with none, again every
 * `retryMs`, or the moment an upstream advertises the stream again.
 * Foreign origins (`setForeign`: listed, with no meshcast node behind
 * them) take their place in the list and are pulled over plain RTMP.
 *
 * The decisions are the pull state machine's (`pull/machine.ts`, pure);
 * this class feeds it events (adverts, players, relay news, timers,
 * attempts' results) with a snapshot of the world, and carries out its
 * effects.
 */
export class EdgeController {
  readonly events: SafeEmitter<EdgeEvents>
  readonly #s: EdgeSettings
  readonly #machine: PullSettings
  readonly #book: StreamBook
  readonly #port: RelayPort
  readonly #log: Logger
  readonly #pulls = new Map<string, Running>()
  /** `origins` entries the node found no meshcast mesh at (`setForeign`) */
  #flagged: HostPort[] = []
  /** the `origins` entries with the addresses their names resolved to last */
  #origins: readonly OriginEntry[]
  readonly #counters: EdgeCounters = { started: 0, failed: 0, failovers: 0, ignoredCopies: 0 }
  #stopped = false
  readonly #unhook: (() => void)[] = []
  /** events waiting for the one being carried out (see `#run`) */
  readonly #queue: { pull: Running; event: PullEvent }[] = []
  #running = false

  constructor(settings: EdgeSettings, book: StreamBook, port: RelayPort, logger: Logger) {
    this.#s = settings
    this.#machine = { ...settings, ownerHoldMs: settings.ownerHoldMs ?? OWNER_HOLD_MS }
    this.#origins = settings.origins
    this.#book = book
    this.#port = port
    this.#log = logger
    this.events = new SafeEmitter((err) =>
      this.#log.error('edge controller listener failed', { error: (err as Error).message }),
    )
  }

  start(): void {
    this.#unhook.push(
      this.#book.events.on('upstream', ({ path, node }) => this.#upstreamAppeared(path, node)),
      this.#book.events.on('withdrawn', ({ path, node }) =>
        this.#dispatch(path, { type: 'withdrawn', node }),
      ),
    )
    if (!this.#s.streamOnDemand) for (const path of this.#book.paths()) this.#ensure(path)
  }

  stop(): void {
    this.#stopped = true
    for (const unhook of this.#unhook.splice(0)) unhook()
    for (const path of [...this.#pulls.keys()]) this.#dispatch(path, { type: 'stop' })
  }

  /** A player started on `path` here. */
  played(path: string): void {
    if (this.#stopped || this.#port.published(path)) return
    if (this.#ensure(path)) this.#dispatch(path, { type: 'play' })
  }

  /** A player of `path` here left. */
  stopped(path: string): void {
    this.#dispatch(path, { type: 'leave' })
  }

  counters(): EdgeCounters {
    return { ...this.#counters }
  }

  pulls(): PullInfo[] {
    return [...this.#pulls.values()].map(({ state }) => {
      const up = upstreamOf(state)
      return {
        path: state.path,
        upstream: up === null ? null : this.#info(up, state.path),
        since: state.since,
      }
    })
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
    for (const path of [...this.#pulls.keys()]) this.#dispatch(path, { type: 'foreign' })
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
    if (!this.#stopped) for (const path of [...this.#pulls.keys()]) this.#dispatch(path, { type: 'origins' })
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
    if (this.#pulls.has(path)) this.#dispatch(path, { type: 'advertised', node })
    else if (!this.#s.streamOnDemand) this.#ensure(path)
  }

  /** Opens the pull for `path` if needed; false for a stream published here. */
  #ensure(path: string): boolean {
    if (this.#pulls.has(path)) return true
    if (this.#port.published(path)) return false
    const relay = this.#port.open(path)
    const pull: Running = { state: initialPull(path), relay, timers: new Map() }
    this.#pulls.set(path, pull)
    relay.events.on('down', ({ reason, detail }) => this.#run(pull, { type: 'down', reason, detail }))
    relay.events.on('quiet', ({ detail }) => this.#run(pull, { type: 'quiet', detail }))
    this.#run(pull, { type: 'open' })
    return true
  }

  #world(path: string): World {
    return {
      upstreams: this.#book.upstreams(path),
      members: this.#book.members(),
      origins: this.#origins,
      foreign: this.#foreign(),
      subscribers: this.#port.subscribers(path),
      now: (this.#s.now ?? Date.now)(),
    }
  }

  /** Runs one event through the machine of `path`'s pull, if it has one. */
  #dispatch(path: string, event: PullEvent): void {
    const pull = this.#pulls.get(path)
    if (pull !== undefined) this.#run(pull, event)
  }

  /**
   * Runs one event through this pull's machine and carries out what it says.
   * News of a pull that ended (its relay's, its attempts', its timers') is
   * dropped: a later pull of the same path is another pull, whose attempt
   * ids start again.
   */
  #run(pull: Running, event: PullEvent): void {
    // An effect may bring the next event at once (a kick: a player's stop; a change listener: an
    // advert). It waits until every effect of this one is carried out: the timers armed and the
    // state's record of them must not drift apart.
    this.#queue.push({ pull, event })
    if (this.#running) return
    this.#running = true
    try {
      for (let next = this.#queue.shift(); next !== undefined; next = this.#queue.shift()) {
        const { path } = next.pull.state
        if (this.#pulls.get(path) !== next.pull) continue
        const { state, effects } = step(this.#machine, next.pull.state, next.event, this.#world(path))
        next.pull.state = state
        for (const effect of effects) this.#carryOut(next.pull, effect)
      }
    } finally {
      // an effect that threw leaves the rest queued: the next event carries it out first
      this.#running = false
    }
  }

  #attempt(relay: Relay, url: string): Promise<void> {
    try {
      return relay.pull(url)
    } catch (err) {
      return Promise.reject(err)
    }
  }

  #carryOut(pull: Running, effect: Effect): void {
    const { path } = pull.state
    switch (effect.type) {
      case 'pull':
        // a relay that throws instead of rejecting still reports back: as a failed attempt
        this.#attempt(pull.relay, effect.url).then(
          () => this.#run(pull, { type: 'pulled', attempt: effect.attempt }),
          (err: Error) =>
            this.#run(pull, {
              type: err instanceof UpstreamResumedError ? 'resumed' : 'failed',
              attempt: effect.attempt,
              error: err.message,
            }),
        )
        return
      case 'arm': {
        const { timer, ms } = effect
        clearTimeout(pull.timers.get(timer))
        pull.timers.set(
          timer,
          setTimeout(() => {
            pull.timers.delete(timer)
            this.#run(pull, { type: 'timer', name: timer })
          }, ms),
        )
        return
      }
      case 'disarm':
        clearTimeout(pull.timers.get(effect.timer))
        pull.timers.delete(effect.timer)
        return
      case 'kick':
        this.#port.kick(path, effect.why)
        return
      case 'close':
        // the relay's own news after this finds no pull
        this.#pulls.delete(path)
        pull.relay.close(effect.kick)
        return
      case 'changed':
        this.events.emit('change', undefined)
        return
      case 'count':
        this.#counters[effect.counter]++
        return
      case 'log':
        this.#log[effect.level](effect.message, effect.fields)
    }
  }
}
