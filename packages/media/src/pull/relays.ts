import { isStreamPath, type Logger, MeshcastError } from '@meshcast/interface'
import { type BaseSession, Context } from '../nms/nms.ts'
import { Feed, type FeedEnd, isStandIn } from './feed.ts'
import { PullRelay, type RelayOptions } from './relay.ts'
import type { Relay, RelayPort } from './relay-types.ts'

/** `open` was given something that is not `/app/name`, or a path that already has a relay. */
export class RelayOpenError extends MeshcastError {
  constructor(message: string) {
    super(message)
    this.name = 'RelayOpenError'
  }
}

/**
 * The media server's relays, as the edge controller sees them (RelayPort):
 * one PullRelay per pulled path, and the Feed under it, which stays while
 * players are kept after its relay closed so that the next relay of the
 * path continues their timeline.
 *
 * The owner of both, mediasoup style: a relay's or a feed's own end comes
 * back as its `@close` (the relay then is forgotten and its feed kept or
 * ended; the feed is forgotten); `closeAll` closes the relays with `hostClosed()`,
 * which tells nothing back.
 */
export class MediaRelays implements RelayPort {
  readonly #o: RelayOptions
  readonly #log: Logger
  readonly #relays = new Map<string, PullRelay>()
  readonly #feeds = new Map<string, Feed>()

  constructor(options: RelayOptions, logger: Logger) {
    this.#o = options
    this.#log = logger
  }

  open(path: string): Relay {
    if (!isStreamPath(path)) {
      throw new RelayOpenError(`cannot relay ${JSON.stringify(path.slice(0, 200))}: expected /app/name`)
    }
    if (this.#relays.has(path)) throw new RelayOpenError(`a relay for ${path} is already open`)
    const relay = new PullRelay(path, this.#feedFor(path), this.#o, this.#log)
    relay.ownerEvents.on('@close', ({ kick }) => this.#relayClosed(relay, kick))
    this.#relays.set(path, relay)
    return relay
  }

  subscribers(path: string): number {
    return Context.broadcasts.get(path)?.subscribers.size ?? 0
  }

  /** A real publisher, live (not a pull's stand-in, not one gone into NMS's reconnect grace). */
  published(path: string): boolean {
    const b = Context.broadcasts.get(path)
    return (
      b !== undefined &&
      b.publisher !== null &&
      !isStandIn(b.publisher) &&
      b.getPublishStatus() === 'publishing'
    )
  }

  kick(path: string, why: string): void {
    const players = [...(Context.broadcasts.get(path)?.subscribers.values() ?? [])]
    this.#log.info('disconnecting players', { path, why, players: players.length })
    for (const s of players) s.close()
  }

  /** The upstream URL feeding `path` now, if any. */
  upstream(path: string): string | null {
    return this.#relays.get(path)?.upstream ?? null
  }

  /** A player left (before NMS removes it): a kept feed ends with its last player. */
  playerLeft(session: BaseSession): void {
    const path = session.streamPath
    const feed = this.#feeds.get(path)
    if (feed?.state !== 'kept') return
    const others = [...(Context.broadcasts.get(path)?.subscribers.keys() ?? [])].filter(
      (id) => id !== session.id,
    )
    if (others.length === 0) feed.end('last-player-left', false)
  }

  /** Closes every relay and feed, disconnecting their players. */
  closeAll(): void {
    for (const relay of this.#relays.values()) relay.hostClosed()
    this.#relays.clear()
    for (const feed of [...this.#feeds.values()]) feed.end('closed-all', true)
  }

  /** The kept feed of `path` (adopted), or a new one. */
  #feedFor(path: string): Feed {
    const kept = this.#feeds.get(path)
    if (kept !== undefined) {
      kept.adopt()
      return kept
    }
    const feed = new Feed(path, this.#log)
    feed.ownerEvents.on('@close', ({ reason }) => this.#feedEnded(feed, reason))
    this.#feeds.set(path, feed)
    return feed
  }

  /** Its relay closed: the feed is kept for the players watching it, or ends. */
  #relayClosed(relay: PullRelay, kick: boolean): void {
    if (this.#relays.get(relay.path) === relay) this.#relays.delete(relay.path)
    const { feed } = relay
    if (!kick && feed.state === 'fed' && feed.subscribers > 0) feed.keep()
    else feed.end('relay-closed', kick)
  }

  /** The one place a feed is forgotten. A stand-in closed from outside takes its relay along. */
  #feedEnded(feed: Feed, reason: FeedEnd): void {
    const { path } = feed
    if (this.#feeds.get(path) === feed) this.#feeds.delete(path)
    const relay = this.#relays.get(path)
    if (reason !== 'stand-in-closed' || relay?.feed !== feed) return
    this.#relays.delete(path)
    relay.hostClosed()
  }
}
