import { isStreamPath, type Logger, MeshcastError } from '@meshcast/interface'
import { Feed, isStandIn } from './feed.ts'
import { type BaseSession, Context } from './nms.ts'
import { PullRelay, type RelayHost, type RelayOptions } from './relay.ts'
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
 */
export class MediaRelays implements RelayPort, RelayHost {
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
    const relay = new PullRelay(path, this.#o, this, this.#log)
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

  feed(path: string): Feed {
    let feed = this.#feeds.get(path)
    if (feed === undefined || feed.released) {
      feed = new Feed(path, this.#log, () => this.#standInClosed(path))
      this.#feeds.set(path, feed)
    }
    return feed
  }

  closed(relay: PullRelay, kick: boolean): void {
    const { path } = relay
    if (this.#relays.get(path) === relay) this.#relays.delete(path)
    const feed = this.#feeds.get(path)
    if (kick) {
      this.#release(path)
      this.kick(path, 'its relay closed')
    } else if (feed !== undefined && feed.subscribers === 0) {
      this.#release(path)
    } else if (feed !== undefined) {
      this.#log.info('relay closed; its players wait for the next pull', { path, players: feed.subscribers })
    }
  }

  /** A player left (before NMS removes it): a feed without relay ends with its last player. */
  playerLeft(session: BaseSession): void {
    const path = session.streamPath
    const feed = this.#feeds.get(path)
    if (feed === undefined || this.#relays.has(path)) return
    const others = [...(Context.broadcasts.get(path)?.subscribers.keys() ?? [])].filter(
      (id) => id !== session.id,
    )
    if (others.length === 0) this.#release(path)
  }

  /** Closes every relay and feed, disconnecting their players. */
  closeAll(): void {
    for (const relay of [...this.#relays.values()]) relay.close(true)
    for (const path of [...this.#feeds.keys()]) this.#release(path, true)
  }

  #release(path: string, kick = false): void {
    const feed = this.#feeds.get(path)
    this.#feeds.delete(path)
    feed?.release(kick)
  }

  /** Someone closed the stand-in session itself (MediaServer.stop closes every session). */
  #standInClosed(path: string): void {
    const relay = this.#relays.get(path)
    if (relay !== undefined) relay.close(true)
    else this.#release(path, true)
  }
}
