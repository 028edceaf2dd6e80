import type net from 'node:net'
import { BurstLog, type Logger, PerAddress, remoteHost } from '@meshcast/interface'
import type { RtmpSession } from '../nms/nms.ts'

/**
 * What one RTMP connection may make this node hold. node-media-server takes
 * message lengths and chunk stream ids from the wire as they come: random
 * bytes after a handshake declared up to 16 MiB on each of thousands of
 * chunk streams (a 2.4 GiB node in the red-team run).
 */
export interface RtmpBounds {
  /** largest message before the connection publishes (commands are small: connect, createStream, play…) */
  commandBytes: number
  /** largest message of a publisher (a keyframe of a high-bitrate 4K stream fits) */
  mediaBytes: number
  /** chunk streams one connection may use (clients use 2 to 8) */
  chunkStreams: number
  /** message buffers a publisher may hold at once, all chunk streams together (before publishing: twice commandBytes) */
  bufferedBytes: number
  /** ms a connection has to start publishing or playing; 0: no limit */
  setupMs: number
  /** ms a publisher may send nothing before it is closed (players are the player guard's); 0: no limit */
  inactivityMs: number
  /** connections one remote address may hold; 0: no limit */
  connectionsPerIp: number
  /** connections one remote address may hold that neither publish nor play yet; 0: no limit */
  pendingPerIp: number
  /**
   * chunks per second one connection may have parsed before its socket is
   * paused (TCP then slows the sender); 0: no limit. A chunk's cost is the
   * same whatever its size, so 1-byte chunks cost a node a core at a small bitrate.
   */
  chunksPerSecond: number
}

export const DEFAULT_RTMP_BOUNDS: RtmpBounds = {
  commandBytes: 64 * 1024,
  mediaBytes: 8 * 1024 * 1024,
  chunkStreams: 64,
  bufferedBytes: 24 * 1024 * 1024,
  setupMs: 10_000,
  inactivityMs: 60_000,
  connectionsPerIp: 1000,
  pendingPerIp: 64,
  // 51 Mbit/s in 128-byte chunks (RTMP's default size, which some encoders keep)
  chunksPerSecond: 50_000,
}

/** Why a connection was closed for breaking a bound. */
export type BoundKind =
  | 'message-length'
  | 'chunk-streams'
  | 'buffered'
  | 'setup-timeout'
  | 'inactivity'
  | 'connections-per-ip'
  | 'pending-per-ip'
  | 'tls-handshake'

/** Every kind, for counters that show zeros too. */
export const BOUND_KINDS: readonly BoundKind[] = [
  'message-length',
  'chunk-streams',
  'buffered',
  'setup-timeout',
  'inactivity',
  'connections-per-ip',
  'pending-per-ip',
  'tls-handshake',
]

/** Thrown inside the parser when a bound is broken; guardRtmpSession closes the connection. */
export class RtmpBoundError extends Error {
  readonly kind: BoundKind
  constructor(kind: BoundKind, message: string) {
    super(message)
    this.name = 'RtmpBoundError'
    this.kind = kind
  }
}

/** The parts of NMS's parser a bound reads (protocol/rtmp.js). */
interface ParserInternals {
  parserPacket: { header: { length: number }; capacity: number }
  inPackets: Map<number, { capacity: number }>
  packetAlloc(): void
  /** called once per chunk, at its header */
  packetParse(): void
}

/**
 * Bounds one session before `run()`: every message buffer the parser is
 * about to allocate is checked first (a break throws RtmpBoundError out of
 * the socket's data handler), and a connection that neither publishes nor
 * plays within `setupMs` is closed, and a publisher silent for
 * `inactivityMs`. `closed(kind)` is told of each break; `started` once the
 * connection publishes or plays (or closes first).
 */
export function boundRtmpSession(
  session: RtmpSession,
  bounds: RtmpBounds,
  closed: (kind: BoundKind, detail: string) => void,
  started: () => void = () => undefined,
  slowed: (detail: string) => void = () => undefined,
): void {
  const parser = session.rtmp as unknown as ParserInternals
  if (bounds.chunksPerSecond > 0) throttleChunks(session, parser, bounds.chunksPerSecond, slowed)
  const alloc = parser.packetAlloc.bind(parser)
  let publishing = false
  parser.packetAlloc = () => {
    const length = parser.parserPacket.header.length
    const most = publishing ? bounds.mediaBytes : bounds.commandBytes
    if (length > most) {
      const before = publishing ? '' : ' before publishing'
      throw new RtmpBoundError(
        'message-length',
        `declared a ${length}-byte message${before} (at most ${most})`,
      )
    }
    if (parser.inPackets.size > bounds.chunkStreams) {
      const used = parser.inPackets.size
      throw new RtmpBoundError('chunk-streams', `used ${used} chunk streams (at most ${bounds.chunkStreams})`)
    }
    // only a buffer that grows can break the budget: a publisher's usual message reuses its own
    if (length > parser.parserPacket.capacity) checkBudget(parser, length, publishing, bounds)
    alloc()
  }
  const setup = bounds.setupMs > 0 ? setupTimer(session, bounds.setupMs, closed) : null
  let setupOver = false
  /** the connection started publishing or playing, or closed: its setup is over */
  const endSetup = () => {
    if (setup !== null) clearTimeout(setup)
    if (setupOver) return
    setupOver = true
    started()
  }
  const onPush = session.onPush
  session.onPush = () => {
    publishing = true
    endSetup()
    if (bounds.inactivityMs > 0) watchInactivity(session, bounds.inactivityMs, closed)
    onPush()
  }
  const onPlay = session.onPlay
  session.onPlay = () => {
    endSetup()
    onPlay()
  }
  session.socket.once('close', endSetup)
}

/**
 * Pauses a connection's socket while it has had more chunks parsed than its
 * rate allows (a token bucket holding 200 ms of chunks), so it costs the
 * node a bounded share of CPU whatever it sends; the kernel's buffers fill
 * and TCP slows the sender, nothing is dropped. `slowed` is told once per connection.
 */
export function throttleChunks(
  session: RtmpSession,
  parser: ParserInternals,
  perSecond: number,
  slowed: (detail: string) => void,
  now: () => number = performance.now.bind(performance),
): void {
  const parse = parser.packetParse.bind(parser)
  let chunks = 0
  parser.packetParse = () => {
    chunks++
    parse()
  }
  const burst = perSecond / 5
  let tokens = burst
  let last = now()
  let told = false
  let timer: ReturnType<typeof setTimeout> | null = null
  const socket = session.socket
  const onData = session.onData
  session.onData = (data: Buffer) => {
    onData(data)
    const at = now()
    tokens = Math.min(burst, tokens + ((at - last) * perSecond) / 1000) - chunks
    last = at
    chunks = 0
    if (tokens >= 0 || timer !== null || socket.destroyed) return
    if (!told) {
      told = true
      slowed(`sent chunks faster than ${perSecond} per second (rtmp.max_chunk_rate): read more slowly`)
    }
    socket.pause()
    timer = setTimeout(
      () => {
        timer = null
        if (!socket.destroyed) socket.resume()
      },
      Math.ceil((-tokens * 1000) / perSecond),
    )
  }
  socket.once('close', () => {
    if (timer !== null) clearTimeout(timer)
  })
}

/** A publisher that sends nothing (a frozen encoder, a dead link without a FIN) is closed: its stream's pulls move on. */
function watchInactivity(
  session: RtmpSession,
  ms: number,
  closed: (kind: BoundKind, detail: string) => void,
): void {
  // the socket's own idle timer: reset by every byte in or out (a silent publisher gets nothing from us)
  session.socket.setTimeout(ms, () => {
    closed('inactivity', `a publisher sent nothing for ${ms} ms`)
    session.socket.destroy()
  })
}

/**
 * Caps what one remote address may hold: connections open, and those still
 * setting up (not publishing or playing yet), where floods and slow-loris
 * clients sit.
 */
export class RtmpAdmission {
  readonly #open: PerAddress
  readonly #pending: PerAddress
  #trusted: ReadonlySet<string> = new Set()

  constructor(bounds: Pick<RtmpBounds, 'connectionsPerIp' | 'pendingPerIp'>) {
    this.#open = new PerAddress(bounds.connectionsPerIp)
    this.#pending = new PerAddress(bounds.pendingPerIp)
  }

  /**
   * Addresses no cap applies to: the cluster's own members (an edge pulls
   * every stream of the cluster at once when it starts). The whole set each time.
   */
  trust(addresses: Iterable<string>): void {
    this.#trusted = new Set(addresses)
  }

  /**
   * Takes a new connection's places, given back as it closes: a refusal
   * (close it at once), or what to call when it starts publishing or playing.
   */
  admit(socket: net.Socket): RtmpBoundError | (() => void) {
    const address = socket.remoteAddress
    if (this.#trusted.has(remoteHost(address))) return () => undefined
    if (!this.#open.take(address))
      return new RtmpBoundError(
        'connections-per-ip',
        `the address holds ${this.#open.cap} connections already (rtmp.max_connections_per_ip)`,
      )
    if (!this.#pending.take(address)) {
      this.#open.give(address)
      return new RtmpBoundError(
        'pending-per-ip',
        `the address has ${this.#pending.cap} connections setting up already (rtmp.max_pending_per_ip)`,
      )
    }
    let pending = true
    const releasePending = () => {
      if (!pending) return
      pending = false
      this.#pending.give(address)
    }
    socket.once('close', () => {
      releasePending()
      this.#open.give(address)
    })
    return releasePending
  }
}

/** Throws when growing the current buffer to `length` would hold more than the connection may. */
function checkBudget(parser: ParserInternals, length: number, publishing: boolean, bounds: RtmpBounds): void {
  let held = length - parser.parserPacket.capacity
  for (const p of parser.inPackets.values()) held += p.capacity
  // a stranger that has not published yet holds a few commands' worth, whatever it declares
  const budget = publishing ? bounds.bufferedBytes : 2 * bounds.commandBytes
  if (held > budget)
    throw new RtmpBoundError('buffered', `would hold ${held} bytes of messages (at most ${budget})`)
}

function setupTimer(
  session: RtmpSession,
  ms: number,
  closed: (kind: BoundKind, detail: string) => void,
): ReturnType<typeof setTimeout> {
  const timer = setTimeout(() => {
    closed('setup-timeout', `neither published nor played within ${ms} ms`)
    session.socket.destroy()
  }, ms)
  timer.unref()
  return timer
}

/** Counts connections slowed by the chunk rate and logs them, a few lines per flood. */
export class SlowLog extends BurstLog<'chunk-rate'> {
  constructor(log: Logger) {
    super(log, ['chunk-rate'], {
      one: 'RTMP connection slowed: it broke the chunk rate',
      many: 'RTMP connections slowed: they broke the chunk rate',
    })
  }
}

/** Counts bound breaks by kind and logs them, a few lines per flood. */
export class BoundLog extends BurstLog<BoundKind> {
  constructor(log: Logger) {
    super(log, BOUND_KINDS, {
      one: 'RTMP connection closed: it broke a bound',
      many: 'RTMP connections closed: they broke a bound',
    })
  }

  closed(kind: BoundKind, detail: string, remote: string | undefined, now = Date.now()): void {
    this.event(kind, detail, remote, now)
  }
}
