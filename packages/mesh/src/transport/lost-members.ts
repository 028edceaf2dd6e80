import { formatAddress, isWildcard, type Logger } from '@meshcast/interface'
import { parseHostPort } from './addresses.ts'
import type { Seed } from './transport.ts'

/** ms before the first look at a lost member's address; each next one waits twice as long, up to HEAL_CAP_MS. */
export const HEAL_FIRST_MS = 500
/**
 * Longest wait between two looks: a cluster split by a fault must be one
 * view again within seconds of the network allowing it, and a refused dial
 * (a dead node) costs next to nothing.
 */
export const HEAL_CAP_MS = 5000
/** ms a lost member's address is looked at before it is given up (mesh.heal_window). */
export const DEFAULT_HEAL_WINDOW_MS = 10 * 60_000

export interface LostMembersInit {
  /** ms after its loss a member's address stops being dialled; 0: never dialled */
  windowMs: number
  firstMs?: number
  capMs?: number
}

export interface LostMembersPort {
  /** dials an address (no peer id: whoever of this cluster listens there); resolves with the peer reached */
  dial(target: Seed): Promise<string>
  isConnected(peer: string): boolean
  logger: Logger
  /** ms clock (default Date.now) and timers (default setTimeout): injected by tests */
  now?: () => number
  setTimer?: (fn: () => void, ms: number) => unknown
  clearTimer?: (timer: unknown) => void
  /** in [0, 1): the jitter of each wait (default Math.random) */
  random?: () => number
}

interface Target {
  seed: Seed
  /** the member last known there */
  id: string
  since: number
  attempts: number
  timer: unknown
  /** the peer a dial reached there, while its connection lasts: not dialled again meanwhile */
  reached: string | null
  /** whether reaching it was logged (once) */
  said: boolean
}

/**
 * Members that left a view without saying goodbye (suspected, or dropped
 * by the coordinator): their last mesh address stays a discovery target,
 * dialled with backoff (HEAL_FIRST_MS doubling to HEAL_CAP_MS, ±20 %) for
 * `windowMs`, whether it was a seed or not. Once a dial connects, the
 * heartbeats on the new connection do the rest: each side hears the other
 * and the two views merge (see ViewKeeper). A member heard again at that
 * address (its old id, or a new one after a restart) ends the search; so
 * does the window. This is what heals a split that no seed and no mDNS
 * would: survivors that knew each other only through a coordinator that died.
 */
export class LostMembers {
  readonly #init: Required<LostMembersInit>
  readonly #p: LostMembersPort
  /** by address (`host:port`) */
  readonly #targets = new Map<string, Target>()
  #stopped = false

  constructor(init: LostMembersInit, port: LostMembersPort) {
    this.#init = { firstMs: HEAL_FIRST_MS, capMs: HEAL_CAP_MS, ...init }
    this.#p = port
  }

  /** The addresses looked at now. */
  get addresses(): string[] {
    return [...this.#targets.keys()]
  }

  /** `id`, last reached at `mesh`, left without a goodbye: look for it there. */
  lost(id: string, mesh: string): void {
    if (this.#stopped || this.#init.windowMs === 0) return
    const addr = parseHostPort(mesh)
    if (addr === null || isWildcard(addr.host)) return
    const key = formatAddress(addr)
    const known = this.#targets.get(key)
    if (known !== undefined) {
      known.id = id
      return
    }
    const target: Target = {
      seed: addr,
      id,
      since: this.#now(),
      attempts: 0,
      timer: null,
      reached: null,
      said: false,
    }
    this.#targets.set(key, target)
    this.#p.logger.debug('looking for a lost member at its last address', { peer: id, address: key })
    this.#schedule(key, target)
  }

  /** A member was heard at `mesh`: nothing to look for there. */
  heard(mesh: string): void {
    const addr = parseHostPort(mesh)
    if (addr === null) return
    const key = formatAddress(addr)
    const target = this.#targets.get(key)
    if (target === undefined) return
    this.#drop(key, target)
  }

  stop(): void {
    this.#stopped = true
    for (const [key, target] of this.#targets) this.#drop(key, target)
  }

  #schedule(key: string, target: Target): void {
    const base = Math.min(this.#init.capMs, this.#init.firstMs * 2 ** target.attempts)
    const jitter = 0.8 + 0.4 * (this.#p.random ?? Math.random)()
    const set = this.#p.setTimer ?? ((fn: () => void, ms: number) => setTimeout(fn, ms))
    target.timer = set(() => void this.#look(key, target), Math.round(base * jitter))
  }

  async #look(key: string, target: Target): Promise<void> {
    target.timer = null
    if (this.#stopped || this.#targets.get(key) !== target) return
    if (this.#now() - target.since >= this.#init.windowMs) {
      this.#p.logger.info('gave up looking for a lost member', {
        peer: target.id,
        address: key,
        afterMs: this.#init.windowMs,
      })
      this.#drop(key, target)
      return
    }
    target.attempts++
    // still connected to it (another member dropped it, this one did not): no second connection
    if (target.reached === null && this.#p.isConnected(target.id)) target.reached = target.id
    if (target.reached === null || !this.#p.isConnected(target.reached)) {
      target.reached = null
      try {
        const peer = await this.#p.dial(target.seed)
        if (this.#targets.get(key) !== target) return
        target.reached = peer
        if (!target.said)
          this.#p.logger.info("a lost member's address answers again: merging", {
            peer: target.id,
            reached: peer,
            address: key,
          })
        target.said = true
      } catch (err) {
        this.#p.logger.debug('lost member not reached', { address: key, error: (err as Error).message })
      }
    }
    if (!this.#stopped && this.#targets.get(key) === target) this.#schedule(key, target)
  }

  #drop(key: string, target: Target): void {
    if (target.timer !== null)
      (this.#p.clearTimer ?? ((t) => clearTimeout(t as NodeJS.Timeout)))(target.timer)
    target.timer = null
    this.#targets.delete(key)
  }

  #now(): number {
    return (this.#p.now ?? Date.now)()
  }
}
