import {
  type Logger,
  RelayClosedError,
  type RelayEvents,
  SafeEmitter,
  TAG_VIDEO,
  UpstreamResumedError,
} from '@meshcast/interface'
import { isMediaFrame, KEYFRAME, VIDEO_HEADER } from '../flv/flv-kinds.ts'
import { AVPacket } from '../nms/nms.ts'
import type { Feed } from './feed.ts'
import { PullClient, type PullCredentials, PullError, type PullFailureReason } from './pull-client.ts'
import type { DownReason, Relay } from './relay-types.ts'
import { SilenceWatch } from './silence.ts'

export interface RelayOptions {
  /** ms from connecting to an upstream to its first media packet */
  timeoutMs: number
  /** ms without audio or video before the upstream counts as stalled */
  stallMs: number
  /** what a pull sends its upstream; default nothing */
  credentials?: PullCredentials
}

/** What a relay tells its owner (MediaRelays); not part of RelayEvents, not for the edge controller. */
export interface RelayOwnerEvents {
  /** `close(kick)` was called (never for `hostClosed()`): the owner forgets the relay and keeps or ends its feed */
  '@close': { kick: boolean }
}

/** The upstream feeding the relay. */
interface Upstream {
  readonly client: PullClient
  readonly url: string
  readonly silence: SilenceWatch
}

/** An upstream being tried: it feeds nothing until its first media packet. */
interface Candidate {
  readonly client: PullClient
  readonly url: string
  readonly startedAt: number
  readonly resolve: () => void
  readonly reject: (err: PullError | UpstreamResumedError) => void
  timer: ReturnType<typeof setTimeout> | null
  /** metadata and sequence headers seen before the first media packet (copies) */
  readonly headers: AVPacket[]
  /** begun while the upstream was quiet: given up should it resume first */
  readonly forQuiet: boolean
}

/** At most this many data/header messages are held from an upstream that sent no media yet. */
const MAX_HEADERS_HELD = 16
/** How often silence is looked for: a fraction of the shortest quiet (QUIET_MIN_MS). */
const SILENCE_CHECK_MS = 50

/**
 * One pulled stream (one per path): RTMP pulls from successive upstreams
 * into the path's Feed. Make-before-break: a new upstream feeds nothing
 * until its first media packet arrives; only then is the previous one
 * dropped, in the same tick, so players see no hole beyond the rebasing.
 * A stream with video switches at the new upstream's first keyframe (the
 * players' decoders need one). An upstream silent for a few frame intervals
 * is "quiet" (a `quiet` event): the controller then pulls an alternative while the
 * quiet one may still resume.
 *
 * Owned by MediaRelays, mediasoup style: `close()` (the edge controller's)
 * tells the owner with a private `@close`; `hostClosed()` (the owner
 * closing everything) closes without telling back. Once closed, `pull`
 * rejects with RelayClosedError.
 */
export class PullRelay implements Relay {
  readonly path: string
  readonly events: SafeEmitter<RelayEvents>
  /** `@close` for the owner */
  readonly ownerEvents: SafeEmitter<RelayOwnerEvents>
  /** the path's feed: made or adopted by the owner, it may outlive this relay */
  readonly feed: Feed
  readonly #o: RelayOptions
  readonly #log: Logger
  #current: Upstream | null = null
  #candidate: Candidate | null = null
  #stallTimer: ReturnType<typeof setInterval> | null = null
  #closed = false

  constructor(path: string, feed: Feed, options: RelayOptions, logger: Logger) {
    this.path = path
    this.feed = feed
    this.#o = options
    this.#log = logger
    // a listener that throws is logged and cannot stop the others
    const failed = (err: unknown, event: string) =>
      this.#log.error('relay listener failed', { path, event, error: (err as Error).message })
    this.events = new SafeEmitter(failed)
    this.ownerEvents = new SafeEmitter(failed)
  }

  /** The upstream URL feeding now, if any. */
  get upstream(): string | null {
    return this.#current?.url ?? null
  }

  pull(url: string): Promise<void> {
    if (this.#closed) return Promise.reject(new RelayClosedError(this.path, url))
    this.#cancelCandidate(`superseded by a pull from ${url}`)
    return new Promise<void>((resolve, reject) => {
      const client: PullClient = new PullClient({
        onPacket: (p) => this.#onPacket(client, p),
        onEnd: (err) => this.#onEnd(client, err),
      })
      const cand: Candidate = {
        client,
        url,
        startedAt: Date.now(),
        resolve,
        reject,
        timer: null,
        headers: [],
        forQuiet: this.#current?.silence.quiet === true,
      }
      this.#candidate = cand
      cand.timer = setTimeout(
        () => this.#reject(cand, new PullError('timeout', url, `no media within ${this.#o.timeoutMs} ms`)),
        this.#o.timeoutMs,
      )
      this.#log.debug('pulling', { path: this.path, url })
      client.play(url, this.#o.timeoutMs, this.#o.credentials?.(this.path, url)).then(
        () => {
          if (this.#candidate === cand)
            this.#log.debug('upstream playing; waiting for media', { path: this.path, url })
        },
        (err: PullError) => this.#reject(cand, err),
      )
    })
  }

  close(kick: boolean): void {
    if (!this.#shutDown()) return
    this.ownerEvents.emit('@close', { kick })
  }

  /** The owner closes the relay (it keeps or ends the feed itself): nothing is told back. */
  hostClosed(): void {
    this.#shutDown()
  }

  /** Stops pulling; false when already closed. */
  #shutDown(): boolean {
    if (this.#closed) return false
    this.#closed = true
    this.#cancelCandidate('the relay closed')
    this.#drop()
    return true
  }

  #onPacket(client: PullClient, p: AVPacket): void {
    const current = this.#current
    if (current?.client === client) {
      if (isMediaFrame(p) && current.silence.media(Date.now())) this.#resumed(current)
      this.feed.push(p)
      return
    }
    const cand = this.#candidate
    if (cand?.client !== client || !client.playing) return
    if (!isMediaFrame(p)) {
      if (cand.headers.length < MAX_HEADERS_HELD) cand.headers.push(copyOf(p))
      return
    }
    // frames before the first keyframe cannot be decoded by the players kept across the switch
    if (cand.headers.some(isVideoHeader) && !isKeyframe(p)) return
    if (this.#promote(cand)) this.feed.push(p)
  }

  /** The quiet upstream sent media again: an alternative begun for its silence is not needed. */
  #resumed(current: Upstream): void {
    const cand = this.#candidate
    this.#log.info('upstream resumed', {
      path: this.path,
      url: current.url,
      quietMs: current.silence.quietMs,
    })
    if (cand?.forQuiet === true) this.#reject(cand, new UpstreamResumedError(cand.url))
  }

  /** The candidate's first media packet: it becomes the upstream, the previous one goes. */
  #promote(cand: Candidate): boolean {
    this.#candidate = null
    this.#clearTimer(cand)
    const feed = this.feed
    const refused = feed.attach(hostOf(cand.url))
    if (refused !== null) {
      cand.client.close()
      cand.reject(new PullError('error', cand.url, `cannot feed ${this.path}: ${refused}`))
      return false
    }
    const previous = this.#current
    previous?.client.close()
    feed.switchUpstream()
    const silence = new SilenceWatch({ stallMs: this.#o.stallMs, peakMs: previous?.silence.peakMs })
    silence.media(Date.now())
    this.#current = { client: cand.client, url: cand.url, silence }
    for (const p of cand.headers) feed.push(p)
    this.#watchStall()
    this.#log.info(previous === null ? 'pulling stream' : 'switched upstream', {
      path: this.path,
      url: cand.url,
      from: previous?.url,
      ms: Date.now() - cand.startedAt,
    })
    cand.resolve()
    return true
  }

  #onEnd(client: PullClient, err: PullError): void {
    const cand = this.#candidate
    if (cand?.client === client) this.#reject(cand, err)
    else if (this.#current?.client === client) this.#lost(downReason(err.reason), err.message)
  }

  /** The upstream stopped feeding: tell the listeners once; the players stay and wait. */
  #lost(reason: DownReason, detail: string): void {
    const url = this.#current?.url
    this.#drop()
    this.#log.warn('upstream lost', { path: this.path, url, reason, detail })
    this.events.emit('down', { reason, detail })
  }

  #drop(): void {
    this.#current?.client.close()
    this.#current = null
    if (this.#stallTimer !== null) clearInterval(this.#stallTimer)
    this.#stallTimer = null
  }

  #watchStall(): void {
    if (this.#stallTimer !== null) return
    const every = Math.max(10, Math.min(SILENCE_CHECK_MS, Math.floor(this.#o.stallMs / 4)))
    this.#stallTimer = setInterval(() => this.#checkSilence(), every)
    this.#stallTimer.unref()
  }

  #checkSilence(): void {
    const current = this.#current
    if (current === null) return
    const state = current.silence.check(Date.now())
    if (state === 'stalled') this.#lost('stalled', `no media for ${this.#o.stallMs} ms`)
    else if (state === 'quiet') this.#quietNow(current)
  }

  #quietNow(current: Upstream): void {
    const detail = `no media for ${Math.round(current.silence.quietMs)} ms`
    this.#log.info('upstream quiet', { path: this.path, url: current.url, detail })
    this.events.emit('quiet', { detail })
  }

  #cancelCandidate(why: string): void {
    const cand = this.#candidate
    if (cand !== null) this.#reject(cand, new PullError('closed', cand.url, why))
  }

  #reject(cand: Candidate, err: PullError | UpstreamResumedError): void {
    if (this.#candidate !== cand) return
    this.#candidate = null
    this.#clearTimer(cand)
    cand.client.close()
    this.#log.debug('cannot pull', {
      path: this.path,
      url: cand.url,
      reason: err instanceof PullError ? err.reason : 'resumed',
      error: err.message,
    })
    cand.reject(err)
  }

  #clearTimer(cand: Candidate): void {
    if (cand.timer !== null) clearTimeout(cand.timer)
    cand.timer = null
  }
}

function isVideoHeader(p: AVPacket): boolean {
  return p.codec_type === TAG_VIDEO && p.flags === VIDEO_HEADER
}

function isKeyframe(p: AVPacket): boolean {
  return p.codec_type === TAG_VIDEO && p.flags === KEYFRAME
}

/** A packet whose data survives the parser's next message. */
function copyOf(p: AVPacket): AVPacket {
  const c = new AVPacket()
  c.codec_id = p.codec_id
  c.codec_type = p.codec_type
  c.flags = p.flags
  c.dts = p.dts
  c.pts = p.pts
  c.size = p.size
  c.data = Buffer.from(p.data.subarray(0, p.size))
  return c
}

function hostOf(url: string): string {
  try {
    return new URL(url).host
  } catch {
    return url
  }
}

function downReason(reason: PullFailureReason): DownReason {
  return reason === 'timeout' ? 'error' : reason
}
