import type { Logger } from '@meshcast/interface'
import { AUDIO, AUDIO_HEADER, DATA, METADATA, VIDEO, VIDEO_HEADER } from './flv-kinds.ts'
import { admit, broadcast, rebase } from './ingest.ts'
import { type AVPacket, BaseSession, BroadcastServer, Context } from './nms.ts'
import { Rebaser } from './rebaser.ts'
import { resetFacts } from './stream-facts.ts'

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
    // MediaServer.stop() closes every Context.sessions entry
    this.close = onClose
  }
}

export function isStandIn(session: unknown): boolean {
  return session instanceof StandIn
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
  readonly #rebaser: Rebaser
  readonly #log: Logger
  #broadcast: BroadcastServer | null = null
  /** last forwarded header per kind (flags): an identical one from a new upstream is not re-sent */
  readonly #headers = new Map<number, Buffer>()
  #released = false

  constructor(path: string, logger: Logger, onClose: () => void) {
    this.path = path
    this.#log = logger
    this.standIn = new StandIn(path, onClose)
    this.#rebaser = new Rebaser({
      onAnchor: (a) => this.#log[a.kind === 'first' ? 'debug' : 'info']('timeline anchor', { path, ...a }),
    })
  }

  get attached(): boolean {
    return this.#broadcast !== null && this.#broadcast.publisher === this.standIn
  }

  get released(): boolean {
    return this.#released
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
    if (this.#released) return 'the feed was released'
    this.standIn.ip = upstream
    if (this.attached) return null
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
    Context.sessions.set(this.standIn.id, this.standIn)
    return null
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
   * Unregisters the stand-in and ends the publish at once, without NMS's 30 s
   * grace (which would make a later publisher "resume" our timeline or wait).
   * `kick` disconnects the players too; otherwise they stay attached and
   * wait for a publisher or another pull.
   */
  release(kick: boolean): void {
    if (this.#released) return
    this.#released = true
    Context.sessions.delete(this.standIn.id)
    const b = this.#broadcast ?? Context.broadcasts.get(this.path) ?? null
    this.#broadcast = null
    if (b === null) return
    resetFacts(b)
    if (b.publisher === this.standIn) {
      this.standIn.endTime = Date.now()
      b._finishPublish()
    }
    if (kick) for (const s of [...b.subscribers.values()]) s.close()
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

/** Metadata and sequence headers: what NMS caches and replays to each new player. */
function headerKind(p: AVPacket): number | null {
  if (p.codec_type === DATA) return METADATA
  if (p.codec_type === AUDIO && p.flags === AUDIO_HEADER) return AUDIO_HEADER
  if (p.codec_type === VIDEO && p.flags === VIDEO_HEADER) return VIDEO_HEADER
  return null
}
