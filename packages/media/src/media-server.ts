import type { IncomingMessage, ServerResponse } from 'node:http'
import type net from 'node:net'
import type { Duplex } from 'node:stream'
import { type SecureContext, TLSSocket } from 'node:tls'
import type { Authorize, HostPort, Logger, Startable } from '@meshcast/interface'
import { ALLOW_ALL, EDGE_STALL_MS, MeshcastError, SafeEmitter } from '@meshcast/interface'
import { FlvHttp } from './flv/flv-http.ts'
import { listen } from './listen.ts'
import { Context, type NmsSession, RtmpSession } from './nms/nms.ts'
import { bridgeNmsLogger } from './nms/nms-log-bridge.ts'
import { PlayerGuard } from './player-guard.ts'
import { ingestPublished } from './publish/publish-ingest.ts'
import { isStandIn } from './pull/feed.ts'
import { type PullCredentials, setPullCa, setPullSource } from './pull/pull-client.ts'
import type { RelayPort } from './pull/relay-types.ts'
import { MediaRelays } from './pull/relays.ts'
import { guardRtmpSession, refusePlay, refusePublish } from './rtmp/rtmp-accept.ts'
import { authenticateRtmp } from './rtmp/rtmp-auth.ts'
import {
  type BoundKind,
  BoundLog,
  boundRtmpSession,
  DEFAULT_RTMP_BOUNDS,
  RtmpAdmission,
  RtmpBoundError,
  type RtmpBounds,
  SlowLog,
} from './rtmp/rtmp-bounds.ts'
import { closeServer, listenTcp } from './rtmp/rtmp-listener.ts'
import { installMediaStreamId, playOnOwnStreamId } from './rtmp/rtmp-stream-id.ts'
import { type StreamSession, toStreamSession } from './stream-session.ts'
import { type StreamTraffic, TrafficTally } from './traffic.ts'

/** ms without audio or video before a pulled upstream counts as stalled. */
export const DEFAULT_STALL_MS = EDGE_STALL_MS
/** ms a pull may take from connecting to its first media packet. */
export const DEFAULT_PULL_TIMEOUT_MS = 5000
/** What a refused publisher is told. */
export const DEFAULT_REFUSE_PUBLISH_TEXT = 'this node is an edge: publish to an origin'
/** Bytes a player may fall behind before it is disconnected (16 s of a 4 Mbit/s stream). */
export const DEFAULT_MAX_PLAYER_BACKLOG_BYTES = 8 * 1024 * 1024
/** ms between slow-player checks. */
const PLAYER_CHECK_MS = 1000

export interface MediaInit {
  /** where RTMP clients connect */
  rtmp: HostPort
  /** false on an edge: RTMP publishers are refused (NetStream.Publish.Rejected). Default true */
  acceptsPublish?: boolean
  /** the reason a refused publisher is given; default DEFAULT_REFUSE_PUBLISH_TEXT */
  refusePublishText?: string
  /** ms without media before a pulled upstream is stalled; default 2000 */
  stallMs?: number
  /** ms from connecting to an upstream to its first media packet; default 5000 */
  pullTimeoutMs?: number
  /** bytes queued for a player before it is cut; default 8 MiB; 0 disables */
  maxPlayerBacklogBytes?: number
  /** what one RTMP connection may make the node hold; default DEFAULT_RTMP_BOUNDS */
  rtmpBounds?: Partial<RtmpBounds>
  /** who may publish and play (RTMP, HTTP-FLV, WS-FLV); default: everyone */
  authorize?: Authorize
  /** what this node's pulls send their upstream (`path` is `/app/name`); default: nothing */
  pullCredentials?: PullCredentials
  /** RTMPS: where its clients connect, and the certificate now (read per connection, so a reload applies to the next) */
  rtmps?: { address: HostPort; secureContext: () => SecureContext }
  /** the CA bundle (PEM) pulls over RTMPS verify upstreams against; default node's built-in CAs */
  pullCa?: Buffer | null
}

export interface MediaComponents {
  logger: Logger
}

export interface MediaEvents {
  /** a publisher started (never a pull) */
  publish: StreamSession
  /** a publisher's publish ended (after NMS's 30 s reconnect grace) */
  unpublish: StreamSession
  /** a player (RTMP, HTTP-FLV, WS-FLV) attached, whether the stream exists yet or not */
  play: StreamSession
  stop: StreamSession
}

/**
 * - `live`: a publisher publishes, or a pull feeds media now;
 * - `reconnecting`: the publisher left and NMS holds the stream for its 30 s grace;
 * - `idle`: nothing feeds it: players wait, or a pull is between upstreams.
 */
export type StreamState = 'live' | 'reconnecting' | 'idle'

export interface StreamInfo {
  path: string
  /** the publisher; null for a pulled stream and for players waiting with no publisher */
  publisher: StreamSession | null
  /** fed by a pull from another node, not by a publisher here */
  pulled: boolean
  state: StreamState
  /** players on this node */
  subscribers: number
  /** FLV codec ids from the stream's metadata (7 H.264, 12 H.265; 10 AAC, 2 MP3); 0 unknown */
  videoCodec: number
  audioCodec: number
  width: number
  height: number
}

/** Thrown when a second media server is started in one process. */
export class MediaSingletonError extends MeshcastError {
  constructor() {
    super('node-media-server keeps process-wide state: only one media server may run per process')
    this.name = 'MediaSingletonError'
  }
}

let running: MediaServer | null = null

/** NMS event name → ours. */
const EVENTS = [
  ['postPublish', 'publish'],
  ['donePublish', 'unpublish'],
  ['postPlay', 'play'],
  ['donePlay', 'stop'],
] as const

export class MediaServer implements Startable {
  readonly events: SafeEmitter<MediaEvents>
  readonly #init: MediaInit
  readonly #log: Logger
  readonly #relays: MediaRelays
  readonly #flv: FlvHttp
  readonly #guard: PlayerGuard
  readonly #traffic = new TrafficTally()
  readonly #bounds: RtmpBounds
  readonly #boundLog: BoundLog
  readonly #slowLog: SlowLog
  readonly #admission: RtmpAdmission
  #server: net.Server | null = null
  #tlsServer: net.Server | null = null
  /** why new players and publishers are refused (the node is shutting down), or null */
  #draining: string | null = null
  /** removes the listeners on node-media-server's events */
  #unhook: (() => void) | null = null
  /** players seen starting: NMS reports a "donePlay" for every non-publisher that closes, played or not */
  readonly #playing = new Set<string>()
  /** publishers reported: unpublish only for those */
  readonly #publishing = new Set<string>()

  constructor(init: MediaInit, components: MediaComponents) {
    this.#init = init
    this.#log = components.logger.child({ component: 'media' })
    this.#bounds = { ...DEFAULT_RTMP_BOUNDS, ...init.rtmpBounds }
    this.#boundLog = new BoundLog(this.#log)
    this.#slowLog = new SlowLog(this.#log)
    this.#admission = new RtmpAdmission(this.#bounds)
    this.events = new SafeEmitter((err, event) =>
      this.#log.error('media event listener failed', { event, err: String(err) }),
    )
    this.#relays = new MediaRelays(
      {
        stallMs: init.stallMs ?? DEFAULT_STALL_MS,
        timeoutMs: init.pullTimeoutMs ?? DEFAULT_PULL_TIMEOUT_MS,
        ...(init.pullCredentials === undefined ? {} : { credentials: init.pullCredentials }),
      },
      this.#log.child({ component: 'media:relay' }),
    )
    this.#flv = new FlvHttp({
      acceptsPublish: this.acceptsPublish,
      refuseText: this.#refuseText,
      running: () => this.#server !== null,
      refusal: () => this.#draining,
      authorize: this.#authorize,
      logger: this.#log.child({ component: 'media:flv' }),
    })
    this.#guard = new PlayerGuard(
      init.maxPlayerBacklogBytes ?? DEFAULT_MAX_PLAYER_BACKLOG_BYTES,
      PLAYER_CHECK_MS,
      this.#log,
    )
  }

  get #authorize(): Authorize {
    return this.#init.authorize ?? ALLOW_ALL
  }

  get rtmpAddress(): HostPort {
    return this.#init.rtmp
  }

  get acceptsPublish(): boolean {
    return this.#init.acceptsPublish ?? true
  }

  get #refuseText(): string {
    return this.#init.refusePublishText ?? DEFAULT_REFUSE_PUBLISH_TEXT
  }

  /** RTMP connections closed for breaking a bound, or slowed for the chunk rate, by kind, since start. */
  boundBreaks(): Readonly<Record<BoundKind | 'chunk-rate', number>> {
    return { ...this.#boundLog.counts, ...this.#slowLog.counts }
  }

  /** True from `drain()` until `stop()`. */
  get draining(): boolean {
    return this.#draining !== null
  }

  /**
   * Takes no new players (RTMP: NetStream.Play.Failed naming `why`; HTTP-
   * and WS-FLV: 503) and no new publishers (NetStream.Publish.Rejected) from
   * now until `stop()`: the node is shutting down. Those already here carry on.
   */
  drain(why: string): void {
    if (this.#draining !== null) return
    this.#draining = why
    this.#log.info('draining: new players and publishers are refused', { why })
  }

  async start(): Promise<void> {
    if (this.#server !== null) return
    if (running !== null && running !== this) throw new MediaSingletonError()
    running = this
    bridgeNmsLogger(this.#log.child({ component: 'nms' }))
    // NodeMediaServer itself is never made: its constructor only builds what meshcast does not
    // use (a second express app, relay/record/notify servers, a JSON store that would restore
    // relay tasks and write ./data, a rate-sampler timer). The sessions read nothing but this.
    Context.config = { bind: this.#init.rtmp.host, webadmin: { enable: false } }
    installMediaStreamId()
    setPullSource(this.#init.rtmp.host)
    setPullCa(this.#init.pullCa ?? null)
    this.#unhook = this.#hookEvents()
    try {
      this.#server = await listenTcp('RTMP', this.#init.rtmp, (socket) => this.#accept(socket))
      const rtmps = this.#init.rtmps
      if (rtmps !== undefined)
        this.#tlsServer = await listenTcp('RTMPS', rtmps.address, (socket) =>
          this.#acceptTls(socket, rtmps.secureContext()),
        )
    } catch (err) {
      if (this.#server !== null) await closeServer(this.#server)
      this.#server = null
      this.#unhookEvents()
      running = null
      throw err
    }
    this.#guard.start()
  }

  async stop(): Promise<void> {
    const server = this.#server
    if (server === null) return
    this.#server = null
    this.#guard.stop()
    this.#boundLog.stop()
    this.#slowLog.stop()
    const closed = Promise.all([
      closeServer(server),
      this.#tlsServer === null ? null : closeServer(this.#tlsServer),
    ])
    this.#tlsServer = null
    this.#relays.closeAll()
    for (const session of Context.sessions.values()) session.close()
    await closed
    this.#unhookEvents()
    this.#playing.clear()
    this.#publishing.clear()
    this.#traffic.clear()
    this.#draining = null
    running = null
  }

  /** Streams on this node: published, pulled, or only awaited by players. */
  streams(): StreamInfo[] {
    return [...Context.broadcasts.values()].map((b) => {
      const pub = b.publisher
      const pulled = isStandIn(pub)
      const status = b.getPublishStatus()
      const live = pulled ? this.#relays.upstream(b.streamPath) !== null : status === 'publishing'
      return {
        path: b.streamPath,
        publisher: pub === null || pulled ? null : toStreamSession(pub),
        pulled,
        state: live ? 'live' : status === 'reconnecting' && !pulled ? 'reconnecting' : 'idle',
        subscribers: b.subscribers.size,
        videoCodec: pub?.videoCodec ?? 0,
        audioCodec: pub?.audioCodec ?? 0,
        width: pub?.videoWidth ?? 0,
        height: pub?.videoHeight ?? 0,
      }
    })
  }

  /**
   * Bytes in and out per stream on this node, each monotonic while the
   * stream exists here: players that left and publishers (or pulls) that
   * were replaced still count. A pulled stream's bytes in are the media its
   * pulls fed, across upstream switches.
   */
  traffic(): StreamTraffic[] {
    return this.#traffic.read(Context.broadcasts)
  }

  /** The addresses of the cluster's members: the per-address connection caps spare them (the whole list each time). */
  trustAddresses(addresses: Iterable<string>): void {
    this.#admission.trust(addresses)
  }

  /** Pulls (edges and relays): what the edge controller drives. */
  relays(): RelayPort {
    return this.#relays
  }

  /**
   * HTTP-FLV playback for `GET /app/name.flv` on the caller's HTTP server.
   * Returns false when the URL is not an FLV path (the caller falls through);
   * otherwise answers: the stream, 400 for a bad name, 403 for a publish
   * (POST), 503 while stopped.
   */
  flvRequest(req: IncomingMessage, res: ServerResponse): boolean {
    return this.#flv.request(req, res)
  }

  /**
   * WS-FLV playback for a WebSocket upgrade to `/app/name.flv`. Returns false
   * when the URL is not an FLV path (the socket is left to the caller).
   */
  flvUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    return this.#flv.upgrade(req, socket, head)
  }

  #accept(socket: net.Socket): void {
    const admitted = this.#admit(socket)
    if (admitted !== null) this.#run(socket, admitted)
  }

  /**
   * RTMPS: the per-address caps count the TCP connection, and its TLS
   * handshake has the setup time (a stranger stalling it is closed as one
   * stalling RTMP's); then it is an RTMP session like any other.
   */
  #acceptTls(raw: net.Socket, secureContext: SecureContext): void {
    const admitted = this.#admit(raw)
    if (admitted === null) return
    const socket = new TLSSocket(raw, { isServer: true, secureContext })
    // a failed handshake: a plain RTMP client, a client refusing the certificate, garbage, too slow
    let done = false
    const failed = (err: Error) => {
      if (done) return
      done = true
      if (timer !== null) clearTimeout(timer)
      this.#boundLog.closed('tls-handshake', err.message, raw.remoteAddress)
      socket.destroy()
    }
    const ms = this.#bounds.setupMs
    const timer = ms > 0 ? setTimeout(() => failed(new Error(`no TLS handshake within ${ms} ms`)), ms) : null
    timer?.unref()
    const unlisten = listen(socket, {
      error: failed,
      // a client refusing the certificate just closes (its alert is not an error here)
      close: () => failed(new Error('the client closed the connection during the TLS handshake')),
    })
    socket.once('secure', () => {
      if (timer !== null) clearTimeout(timer)
      unlisten()
      this.#run(socket, admitted)
    })
  }

  /** The per-address caps' places for a new connection, or null (closed, logged) when it has none. */
  #admit(socket: net.Socket): (() => void) | null {
    const admitted = this.#admission.admit(socket)
    if (admitted instanceof RtmpBoundError) {
      this.#boundLog.closed(admitted.kind, admitted.message, socket.remoteAddress)
      socket.destroy()
      return null
    }
    return admitted
  }

  #run(socket: net.Socket, admitted: () => void): void {
    const session = new RtmpSession(socket)
    guardRtmpSession(session, this.#log, this.#boundLog)
    const closed = (kind: BoundKind, detail: string) => this.#boundLog.closed(kind, detail, session.ip)
    const slowed = (detail: string) => this.#slowLog.event('chunk-rate', detail, session.ip)
    boundRtmpSession(session, this.#bounds, closed, admitted, slowed)
    authenticateRtmp(session, this.#authorize, this.#log)
    refusePublish(session, () => (this.acceptsPublish ? this.#draining : this.#refuseText), this.#log)
    refusePlay(session, () => this.#draining, this.#log)
    ingestPublished(session, this.#log.child({ component: 'media:publish' }))
    playOnOwnStreamId(session)
    session.run()
    Context.sessions.set(session.id, session)
  }

  /** Listens to node-media-server's session events; the returned function stops. */
  #hookEvents(): () => void {
    // byte counts of sessions about to go, stand-ins included (before the events below drop them)
    const tally = listen(Context.eventEmitter, {
      donePlay: (s: NmsSession) => this.#traffic.playerLeft(Context.broadcasts.get(s.streamPath), s),
      donePublish: (s: NmsSession) => this.#traffic.publishEnded(s),
    })
    const handlers: Record<string, (s: NmsSession) => void> = {}
    for (const [nmsName, ours] of EVENTS) {
      handlers[nmsName] = (s) => {
        // a pull's stand-in publisher is not a publish: the mesh would take this node for an origin
        if (isStandIn(s)) return
        if (ours === 'publish' && !becomesPublisher(s)) return
        if (ours === 'stop') this.#relays.playerLeft(s)
        if (!this.#tracks(ours, s.id)) return
        const session = toStreamSession(s)
        this.#log.info(ours, { path: session.path, session: session.id, remote: session.remote })
        this.events.emit(ours, session)
      }
    }
    const reports = listen(Context.eventEmitter, handlers)
    return () => {
      tally()
      reports()
    }
  }

  /** Whether an event is worth reporting; keeps play/stop and publish/unpublish in pairs. */
  #tracks(event: keyof MediaEvents, id: string): boolean {
    if (event === 'play') this.#playing.add(id)
    if (event === 'stop') return this.#playing.delete(id)
    if (event === 'publish') this.#publishing.add(id)
    if (event === 'unpublish') return this.#publishing.delete(id)
    return true
  }

  #unhookEvents(): void {
    this.#unhook?.()
    this.#unhook = null
  }
}

/**
 * NMS emits postPublish before it checks for a publisher already there
 * (broadcast_server.js:210-215): a refused second publisher would be
 * reported as a publish. At emit time the slot is free only for one that
 * gets it (grace resume and takeover have already cleared it).
 */
function becomesPublisher(s: NmsSession): boolean {
  return (Context.broadcasts.get(s.streamPath)?.publisher ?? null) === null
}
