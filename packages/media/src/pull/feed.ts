import {
  type Logger,
  MeshcastError,
  SafeEmitter,
  TAG_AUDIO,
  TAG_SCRIPT,
  TAG_VIDEO,
} from '@meshcast/interface'
import { AUDIO_HEADER, METADATA, VIDEO_HEADER } from '../flv/flv-kinds.ts'
import { type AVPacket, BaseSession, BroadcastServer, Context } from '../nms/nms.ts'
import { admit, broadcast, rebase } from '../publish/ingest.ts'
import { resetFacts } from '../stream-facts.ts'
import { Rebaser } from './rebaser.ts'

/** The `protocol` of a pull's stand-in publisher. */
export const PULL_PROTOCOL = 'rtmp-pull'

/**
 * The publisher node-media-server sees for a pulled stream: a BaseSession
 * (id, counters, no-op sendBuffer) that BroadcastServer accepts in
 * `postPublish` and writes the codec fields of the metadata into.
 */
export class StandIn extends BaseSession {
  constructor(path: string, onClose: () => void) {
    super()
    this.protocol = PULL_PROTOCOL
    this.isPublisher = true
    this.streamPath = path
    const [, app = '', name = ''] = path.split('/')
    this.streamApp = app
    this.streamName = name
    this.close = onClose
  }
}

export function isStandIn(session: unknown): boolean {
  return session instanceof StandIn
}

/**
 * Where a feed is in its life:
 * - `idle`: a relay has it; its stand-in does not hold the path yet (no upstream fed it);
 * - `fed`: a relay has it and its stand-in is the path's publisher (the relay may be between upstreams);
 * - `kept`: its relay closed without `kick` while players watched: the stand-in holds the path
 *   for them until the next relay of the path adopts the feed, or the last of them leaves;
 * - `released`: ended; the path is free.
 */
export type FeedState = 'idle' | 'fed' | 'kept' | 'released'

/**
 * Why a feed ended: its relay closed (with `kick`, or with nobody to keep it
 * for); the last player of a kept feed left; its stand-in session was closed
 * from outside (MediaServer.stop closes every session); the set of relays
 * closed everything.
 */
export type FeedEnd = 'relay-closed' | 'last-player-left' | 'stand-in-closed' | 'closed-all'

/** What a feed tells its owner (MediaRelays); not for anyone else. */
export interface FeedOwnerEvents {
  /** the feed ended (once): the owner forgets it */
  '@close': { reason: FeedEnd }
}

/**
 * One pulled stream in the local broadcast: the stand-in publisher and what
 * every packet goes through on its way in (metadata filter, rebasing,
 * repeated-header skip). It outlives upstream switches, and even its relay
 * when players are kept (`close(false)`), so their timeline stays continuous.
 */
export class Feed {
  readonly path: string
  readonly standIn: StandIn
  /** `@close` for the owner */
  readonly ownerEvents: SafeEmitter<FeedOwnerEvents>
  readonly #rebaser: Rebaser
  readonly #log: Logger
  #broadcast: BroadcastServer | null = null
  /** last forwarded header per kind (flags): an identical one from a new upstream is not re-sent */
  readonly #headers = new Map<number, Buffer>()
  #state: FeedState = 'idle'

  constructor(path: string, logger: Logger) {
    this.path = path
    this.#log = logger
    this.ownerEvents = new SafeEmitter((err, event) =>
      this.#log.error('feed listener failed', { path, event, error: (err as Error).message }),
    )
    // MediaServer.stop() closes every Context.sessions entry
    this.standIn = new StandIn(path, () => this.end('stand-in-closed', true))
    this.#rebaser = new Rebaser({
      onAnchor: (a) => this.#log[a.kind === 'first' ? 'debug' : 'info']('timeline anchor', { path, ...a }),
    })
  }

  get state(): FeedState {
    return this.#state
  }

  /** Players of the stream on this node. */
  get subscribers(): number {
    return Context.broadcasts.get(this.path)?.subscribers.size ?? 0
  }

  /**
   * Registers the stand-in as the path's publisher (players already waiting
   * are kept). A real publisher in NMS's "reconnecting" grace is ended first:
   * it left, and the stand-in cannot register beside it. Returns why not when
   * a live publisher holds the path.
   */
  attach(upstream: string): string | null {
    if (this.#state === 'released') return 'the feed was released'
    this.standIn.ip = upstream
    if (this.#attached()) {
      this.#state = 'fed'
      return null
    }
    const b = Context.broadcasts.get(this.path) ?? new BroadcastServer(this.path)
    Context.broadcasts.set(this.path, b)
    if (b.publisher !== null && b.publisher !== this.standIn && b.getPublishStatus() === 'reconnecting') {
      b._finishPublish()
      Context.broadcasts.set(this.path, b)
    }
    const err = b.postPublish(this.standIn)
    if (err !== null) return err
    // what an earlier feed or publisher of the path taught the stream is not this upstream's
    resetFacts(b)
    this.#broadcast = b
    this.#state = 'fed'
    Context.sessions.set(this.standIn.id, this.standIn)
    return null
  }

  /** Its relay closed while players watch: they wait for the next relay of the path. */
  keep(): void {
    if (this.#state !== 'fed') throw new InvalidFeedStateError(this.path, this.#state, 'kept')
    this.#state = 'kept'
    this.#log.info('relay closed; its players wait for the next pull', {
      path: this.path,
      players: this.subscribers,
    })
  }

  /** A new relay of the path takes the kept feed: its players' timeline goes on. */
  adopt(): void {
    if (this.#state !== 'kept') throw new InvalidFeedStateError(this.path, this.#state, 'fed')
    this.#state = 'fed'
  }

  /** The packets that follow come from another upstream. */
  switchUpstream(): void {
    this.#rebaser.switchUpstream()
    // another upstream may carry other tracks; the earlier GOPs of a burst are the old one's
    if (this.#broadcast !== null) resetFacts(this.#broadcast)
  }

  /** Filters, rebases and hands a packet to the broadcast (which copies it). */
  push(p: AVPacket): void {
    const b = this.#broadcast
    if (b === null || b.publisher !== this.standIn) return
    if (!admit(p)) return
    const out = this.#rebaser.map(p)
    if (out === null || this.#repeatedHeader(p)) return
    rebase(p, out)
    this.standIn.inBytes += p.size
    broadcast(b, p, this.standIn)
  }

  /**
   * The one way a feed ends (once; later calls do nothing): unregisters the
   * stand-in and ends its publish at once, without NMS's 30 s grace (which
   * would make a later publisher "resume" our timeline or wait). `kick`
   * disconnects the path's players too; otherwise they stay attached and
   * wait for a publisher or another pull. Logged, then `@close` to the owner.
   */
  end(reason: FeedEnd, kick: boolean): void {
    const was = this.#state
    if (was === 'released') return
    this.#state = 'released'
    Context.sessions.delete(this.standIn.id)
    const b = this.#broadcast
    this.#broadcast = null
    if (b !== null) {
      resetFacts(b)
      if (b.publisher === this.standIn) {
        this.standIn.endTime = Date.now()
        b._finishPublish()
      }
    }
    // the players of a path whose feed never held it (a pull that never delivered) go too
    const players = kick ? [...((b ?? Context.broadcasts.get(this.path))?.subscribers.values() ?? [])] : []
    for (const s of players) s.close()
    this.#log[was === 'idle' ? 'debug' : 'info']('feed ended', {
      path: this.path,
      reason,
      was,
      kicked: players.length,
    })
    this.ownerEvents.emit('@close', { reason })
  }

  #attached(): boolean {
    return this.#broadcast !== null && this.#broadcast.publisher === this.standIn
  }

  #repeatedHeader(p: AVPacket): boolean {
    const kind = headerKind(p)
    if (kind === null) return false
    const bytes = p.data.subarray(0, p.size)
    if (this.#headers.get(kind)?.equals(bytes) === true) return true
    this.#headers.set(kind, Buffer.from(bytes))
    return false
  }
}

/** A feed was asked to go where its state does not lead (a bug in its owner). */
export class InvalidFeedStateError extends MeshcastError {
  constructor(path: string, from: FeedState, to: FeedState) {
    super(`the feed of ${path} cannot become ${to} from ${from}`)
    this.name = 'InvalidFeedStateError'
  }
}

/** Metadata and sequence headers: what NMS caches and replays to each new player. */
function headerKind(p: AVPacket): number | null {
  if (p.codec_type === TAG_SCRIPT) return METADATA
  if (p.codec_type === TAG_AUDIO && p.flags === AUDIO_HEADER) return AUDIO_HEADER
  if (p.codec_type === TAG_VIDEO && p.flags === VIDEO_HEADER) return VIDEO_HEADER
  return null
}
