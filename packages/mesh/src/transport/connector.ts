import { formatAddress, isWildcard, type Logger } from '@meshcast/interface'
import { type Clock, systemClock, type TimerHandle } from '../clock.ts'
import { parseHostPort } from './addresses.ts'
import { HEAL_CAP_MS } from './lost-members.ts'
import { isName, type LookupAll, localAddresses, lookupAll } from './names.ts'
import type { MeshTransport, Seed } from './transport.ts'

export type { Seed }

export interface ConnectorInit {
  selfId: string
  /** this node's mesh listen address: a DNS name's record for it is not dialled */
  self?: Seed
  /**
   * addresses dialled until reached: the origins at the mesh port, and
   * explicit peers. A DNS name stands for every address it resolves to,
   * looked up again every `retryInterval` and on `refresh`.
   */
  seeds: readonly Seed[]
  /** ms between attempts at an unreached seed */
  retryInterval: number
  /**
   * ms after its connection dropped that a seed is still dialled every
   * HEAL_CAP_MS once the quick retries are used (0: only the quick ones):
   * a restarted origin is found in seconds, not a whole retryInterval later
   */
  healWindow?: number
}

export interface ConnectorComponents {
  transport: Pick<MeshTransport, 'events' | 'dial' | 'dialPeer' | 'remember' | 'isConnected'>
  logger: Logger
  /** the retries' timers (default: the system's) */
  clock?: Clock
  /** resolves a seed's DNS name (default: the system resolver, every A and AAAA record) */
  lookup?: LookupAll
}

/** What last went wrong dialling a seed, so a repeated failure is not logged again. */
type Failure = 'not-our-cluster' | 'refused' | 'timeout' | 'other'

/**
 * ms before the next attempts at a seed that answered but did not complete
 * the handshake: a loaded seed (20 nodes starting at once on 2 cores) times
 * out or garbles a first handshake, and waiting a whole retryInterval for it
 * held joins up by 30 s (measured). A refused seed waits retryInterval.
 */
const QUICK_RETRIES = [500, 1000, 2000, 4000]

/** A failure of the same kind this many times in a row is logged: one handshake that timed out on a loaded peer proves nothing. */
const SAY_AFTER: Record<Failure, number> = { 'not-our-cluster': 1, timeout: 2, refused: 1, other: 1 }

/** Every `code` and `name` in an error, its `errors` (an AggregateError's) and its `cause`s. */
function marks(err: unknown, out = new Set<string>(), depth = 0): Set<string> {
  if (typeof err !== 'object' || err === null || depth > 5) return out
  const e = err as { code?: unknown; name?: unknown; errors?: unknown; cause?: unknown }
  if (typeof e.code === 'string') out.add(e.code)
  if (typeof e.name === 'string') out.add(e.name)
  if (Array.isArray(e.errors)) for (const x of e.errors) marks(x, out, depth + 1)
  marks(e.cause, out, depth + 1)
  return out
}

const REFUSED = ['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH']
const TIMED_OUT = ['ETIMEDOUT', 'TimeoutError', 'AbortError']

/**
 * An error from the private-network/noise handshake that is not a peer-id
 * mismatch. libp2p's noise says which only in its message text (its
 * `EncryptionFailedError` wraps every handshake failure), so that is read here.
 */
function isForeignCluster(err: unknown): boolean {
  const e = err as { name?: string; message?: string; errors?: unknown[] }
  if (Array.isArray(e.errors)) return e.errors.some(isForeignCluster)
  // A handshake that timed out may just be a loaded peer: only a garbled one says "another password".
  return (
    e.name === 'EncryptionFailedError' && !/identity key|timeout|timed out|aborted/i.test(e.message ?? '')
  )
}

/**
 * Keeps this node connected: dials the configured seeds (retrying every
 * `retryInterval`), peers mDNS finds, and members heard of through heartbeats
 * (their own, or a view that names them).
 * Of two nodes that find each other, only the lower id dials, so a pair
 * does not end up with two connections.
 */
export class Connector {
  readonly #init: ConnectorInit
  readonly #c: ConnectorComponents
  readonly #dialing = new Set<string>()
  /** members whose address came from the mesh: `ensure` dials them, when the mesh says so */
  readonly #learned = new Set<string>()
  /** per seed: the last failure's kind, how many in a row, and whether it was said */
  readonly #failures = new Map<string, { kind: Failure; count: number; said: boolean }>()
  readonly #quick = new Map<string, TimerHandle>()
  /** per seed: quick retries used since it was last reached */
  readonly #quickUsed = new Map<string, number>()
  /** seeds whose connection dropped, and when: retried quickly even when refused (a restarting origin) */
  readonly #recovering = new Map<string, number>()
  /** the peer each seed turned out to be */
  readonly #seedPeers = new Map<string, string>()
  #timer: TimerHandle | null = null
  /** resolves once every seed has been dialled once (reached or not) */
  readonly #firstRound = Promise.withResolvers<void>()
  /** per seed DNS name: the addresses it resolved to last (kept while a lookup fails) */
  readonly #resolved = new Map<string, readonly string[]>()
  /** names whose failed lookup was logged, until one succeeds */
  readonly #unresolved = new Set<string>()
  /** a lookup round under way: a refresh meanwhile joins it */
  #resolving: Promise<Seed[]> | null = null

  readonly #clock: Clock
  readonly #unlisten: (() => void)[] = []

  constructor(init: ConnectorInit, components: ConnectorComponents) {
    this.#init = init
    this.#c = components
    this.#clock = components.clock ?? systemClock
  }

  start(): void {
    const events = this.#c.transport.events
    this.#unlisten.push(
      events.on('discovered', (peer) => this.#discovered(peer)),
      events.on('disconnect', (peer) => this.#lost(peer)),
    )
    void this.dialSeeds().then(() => this.#firstRound.resolve())
    if (this.#init.seeds.length > 0)
      this.#timer = this.#clock.setInterval(() => void this.dialSeeds(), this.#init.retryInterval)
  }

  stop(): void {
    if (this.#timer !== null) this.#clock.clearInterval(this.#timer)
    this.#timer = null
    for (const t of this.#quick.values()) this.#clock.clearTimeout(t)
    this.#quick.clear()
    for (const unlisten of this.#unlisten.splice(0)) unlisten()
  }

  /** Resolves once every seed has been dialled once, reached or not (at once with no seeds). */
  get firstRound(): Promise<void> {
    return this.#firstRound.promise
  }

  isConnected(id: string): boolean {
    return this.#c.transport.isConnected(id)
  }

  /** Looks the seeds' DNS names up again, then dials every seed address not connected now. */
  async dialSeeds(): Promise<void> {
    await this.#resolve()
    await Promise.all(this.#targets().map((seed) => this.#dialSeed(seed)))
  }

  /**
   * Looks the seeds' DNS names up again (the view changed: a replica may
   * have come or gone) and dials only the addresses that are new; the
   * others wait for the `retryInterval` round. Nothing to do without names.
   */
  async refresh(): Promise<void> {
    if (!this.#init.seeds.some((s) => isName(s.host)) || this.#timer === null) return
    const fresh = await this.#resolve()
    await Promise.all(fresh.map((seed) => this.#dialSeed(seed)))
  }

  /** The addresses dialled now: each literal seed, and every address each name resolved to last. */
  #targets(): Seed[] {
    const self = this.#init.self
    const own = self !== undefined && isWildcard(self.host) ? localAddresses() : null
    const isSelf = (host: string, port: number) =>
      self !== undefined && port === self.port && (host === self.host || own?.has(host) === true)
    const seen = new Set<string>()
    const out: Seed[] = []
    for (const seed of this.#init.seeds) {
      const name = isName(seed.host)
      for (const host of name ? (this.#resolved.get(seed.host) ?? []) : [seed.host]) {
        const target = { host, port: seed.port }
        const key = formatAddress(target)
        // one list serves every replica: a name's record for this node itself is not dialled
        if (seen.has(key) || (name && isSelf(host, seed.port))) continue
        seen.add(key)
        out.push(target)
      }
    }
    return out
  }

  /** Resolves every seed name once (one round at a time); returns the addresses new since the last round. */
  #resolve(): Promise<Seed[]> {
    this.#resolving ??= this.#lookupNames().finally(() => {
      this.#resolving = null
    })
    return this.#resolving
  }

  async #lookupNames(): Promise<Seed[]> {
    const names = [...new Set(this.#init.seeds.map((s) => s.host).filter(isName))]
    if (names.length === 0) return []
    const before = new Set(this.#targets().map(formatAddress))
    const lookup = this.#c.lookup ?? lookupAll
    await Promise.all(names.map((name) => this.#lookupName(name, lookup)))
    const now = this.#targets()
    const current = new Set(now.map(formatAddress))
    // an address gone from DNS is no seed any more (its connection, if any, stays: the view decides)
    for (const key of this.#seedPeers.keys()) if (!current.has(key)) this.#seedPeers.delete(key)
    return now.filter((t) => !before.has(formatAddress(t)))
  }

  async #lookupName(name: string, lookup: LookupAll): Promise<void> {
    try {
      const addresses = await lookup(name)
      const before = this.#resolved.get(name)
      this.#resolved.set(name, addresses)
      this.#unresolved.delete(name)
      if (before === undefined || before.join() !== addresses.join())
        this.#c.logger.info(`mesh seed ${name} resolves to ${addresses.join(', ') || 'nothing'}`, {
          seed: name,
          addresses,
        })
    } catch (err) {
      // the addresses it had stay: a resolver that fails for a moment must not drop a seed
      if (this.#unresolved.has(name)) return
      this.#unresolved.add(name)
      const e = err as NodeJS.ErrnoException
      this.#c.logger.warn(
        `cannot resolve mesh seed ${name} (${e.code ?? e.message}); trying again every ${Math.round(this.#init.retryInterval / 1000)} s`,
        { seed: name, error: e.message },
      )
    }
  }

  /**
   * Makes sure there is a connection to a member (at its `mesh` address).
   * Of two members the lower id dials, unless `force` (the coordinator).
   */
  ensure(id: string, mesh: string, force: boolean): void {
    if (id === this.#init.selfId || this.#dialing.has(id) || this.isConnected(id)) return
    if (!force && this.#init.selfId > id) return // the other side dials
    const addr = parseHostPort(mesh)
    if (addr === null) return
    this.#dialing.add(id)
    this.#c.transport
      .dial(addr, { peer: id })
      .catch((err: Error) => this.#c.logger.debug('dial to member failed', { peer: id, error: err.message }))
      .finally(() => this.#dialing.delete(id))
  }

  /**
   * Records a member's mesh address (from its heartbeat or a view), so
   * direct streams can reach it before any connection. It does not dial:
   * that is left to `ensure`.
   */
  learn(id: string, mesh: string): void {
    // Once per member: peer store updates were ~5 % of the CPU while 20 nodes formed a view (profiled).
    if (this.#learned.has(id)) return
    const addr = parseHostPort(mesh)
    if (addr === null) return
    this.#learned.add(id)
    this.#c.transport.remember(id, addr)
  }

  /** A member left the view: mDNS may dial it again should it come back. */
  forget(id: string): void {
    this.#learned.delete(id)
  }

  /** Redials a member whose connection just closed, to tell a broken link from a dead node. */
  redial(id: string): Promise<boolean> {
    return this.#c.transport.dialPeer(id).then(
      () => true,
      () => false,
    )
  }

  #discovered(id: string): void {
    if (
      id === this.#init.selfId ||
      this.#init.selfId > id ||
      this.#learned.has(id) ||
      this.#dialing.has(id) ||
      this.isConnected(id)
    )
      return
    this.#dialing.add(id)
    this.#c.transport
      .dialPeer(id)
      .catch((err: Error) =>
        this.#c.logger.debug('dial to discovered peer failed', { peer: id, error: err.message }),
      )
      .finally(() => this.#dialing.delete(id))
  }

  async #dialSeed(seed: Seed): Promise<void> {
    const key = formatAddress(seed)
    const known = this.#seedPeers.get(key)
    if ((known !== undefined && this.isConnected(known)) || this.#dialing.has(key)) return
    this.#dialing.add(key)
    try {
      const peer = await this.#c.transport.dial(seed)
      this.#seedPeers.set(key, peer)
      if (this.#failures.get(key)?.said === true) this.#c.logger.info('reached seed', { seed: key, peer })
      else this.#c.logger.debug('connected to seed', { seed: key, peer })
      this.#failures.delete(key)
      this.#quickUsed.delete(key)
      this.#recovering.delete(key)
    } catch (err) {
      this.#failed(key, err)
      this.#retrySoon(seed, key)
    } finally {
      this.#dialing.delete(key)
    }
  }

  /**
   * A seed's connection dropped: it may be restarting, so try it again soon
   * (QUICK_RETRIES, then every HEAL_CAP_MS for `healWindow`), not only after retryInterval.
   */
  #lost(peer: string): void {
    if (this.#timer === null) return
    for (const seed of this.#targets()) {
      const key = formatAddress(seed)
      if (this.#seedPeers.get(key) !== peer) continue
      this.#seedPeers.delete(key)
      this.#quickUsed.delete(key)
      this.#recovering.set(key, this.#clock.now())
      this.#retrySoon(seed, key)
    }
  }

  /** Schedules a quick extra attempt after a failure that was not a refusal (or a seed that just dropped). */
  #retrySoon(seed: Seed, key: string): void {
    const failure = this.#failures.get(key)
    if (this.#timer === null) return
    if (!this.#recovering.has(key) && (failure === undefined || failure.kind === 'refused')) return
    const used = this.#quickUsed.get(key) ?? 0
    const since = this.#recovering.get(key)
    const healing = since !== undefined && this.#clock.now() - since < (this.#init.healWindow ?? 0)
    const delay =
      QUICK_RETRIES[used] ?? (healing ? Math.min(HEAL_CAP_MS, this.#init.retryInterval) : undefined)
    if (delay === undefined) this.#recovering.delete(key)
    if (delay === undefined || this.#quick.has(key)) return
    this.#quickUsed.set(key, used + 1)
    this.#quick.set(
      key,
      this.#clock.setTimeout(() => {
        this.#quick.delete(key)
        void this.#dialSeed(seed)
      }, delay),
    )
  }

  #failed(key: string, err: unknown): void {
    const seen = marks(err)
    const kind: Failure = isForeignCluster(err)
      ? 'not-our-cluster'
      : REFUSED.some((m) => seen.has(m))
        ? 'refused'
        : TIMED_OUT.some((m) => seen.has(m))
          ? 'timeout'
          : 'other'
    const before = this.#failures.get(key)
    // A foreign peer's handshakes fail in varied ways on a loaded box (garbled, reset, timed
    // out): once "not of this cluster" was said, none of that is news, and saying it again
    // whenever the kinds alternated repeated the line. Only a refusal (the peer gone) is.
    if (before?.kind === 'not-our-cluster' && before.said && kind !== 'refused') return
    const failure =
      before?.kind === kind ? { ...before, count: before.count + 1 } : { kind, count: 1, said: false }
    this.#failures.set(key, failure)
    if (failure.said || failure.count < SAY_AFTER[kind]) return
    failure.said = true
    const retry = `retrying every ${Math.round(this.#init.retryInterval / 1000)} s`
    if (kind === 'not-our-cluster')
      this.#c.logger.warn(`mesh peer at ${key} is not of this cluster (its password differs); ${retry}`, {
        seed: key,
      })
    else if (kind === 'refused' && seen.has('ECONNREFUSED'))
      // Nothing listens: a node not up yet, or an RTMP server that is no meshcast node (an edge
      // pulls from such an origin over plain RTMP and says so itself): news, not a fault.
      this.#c.logger.info(
        `nothing listens for the mesh at ${key} (no meshcast node there, or not up yet); ${retry}`,
        { seed: key, error: (err as Error)?.message },
      )
    else
      this.#c.logger.warn(`cannot reach mesh peer at ${key}; ${retry}`, {
        seed: key,
        error: (err as Error)?.message,
      })
  }
}
