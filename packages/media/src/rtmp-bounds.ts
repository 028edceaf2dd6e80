import type { Logger } from '@meshcast/interface'
import type { RtmpSession } from './nms.ts'

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
}

export const DEFAULT_RTMP_BOUNDS: RtmpBounds = {
  commandBytes: 64 * 1024,
  mediaBytes: 8 * 1024 * 1024,
  chunkStreams: 64,
  bufferedBytes: 24 * 1024 * 1024,
  setupMs: 10_000,
}

/** Why a connection was closed for breaking a bound. */
export type BoundKind = 'message-length' | 'chunk-streams' | 'buffered' | 'setup-timeout'

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
}

/**
 * Bounds one session before `run()`: every message buffer the parser is
 * about to allocate is checked first (a break throws RtmpBoundError out of
 * the socket's data handler), and a connection that neither publishes nor
 * plays within `setupMs` is closed. `closed(kind)` is told of each break.
 */
export function boundRtmpSession(
  session: RtmpSession,
  bounds: RtmpBounds,
  closed: (kind: BoundKind, detail: string) => void,
): void {
  const parser = session.rtmp as unknown as ParserInternals
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
  const started = () => {
    if (setup !== null) clearTimeout(setup)
  }
  const onPush = session.onPush
  session.onPush = () => {
    publishing = true
    started()
    onPush()
  }
  const onPlay = session.onPlay
  session.onPlay = () => {
    started()
    onPlay()
  }
  session.socket.once('close', started)
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

/** ms during which further breaks of one kind are counted, not logged. */
const QUIET_MS = 10_000

/**
 * Counts bound breaks by kind and logs them: the first of a kind at once,
 * the rest of a burst as one line with their number when the kind's quiet
 * time ends (a flood of 1,000 connections is a few lines, not 1,000).
 */
export class BoundLog {
  readonly counts: Record<BoundKind, number> = {
    'message-length': 0,
    'chunk-streams': 0,
    buffered: 0,
    'setup-timeout': 0,
  }
  readonly #log: Logger
  readonly #quietUntil = new Map<BoundKind, number>()
  readonly #held = new Map<BoundKind, { count: number; timer: ReturnType<typeof setTimeout> }>()

  constructor(log: Logger) {
    this.#log = log
  }

  closed(kind: BoundKind, detail: string, remote: string | undefined, now = Date.now()): void {
    this.counts[kind]++
    if (now >= (this.#quietUntil.get(kind) ?? 0)) {
      this.#quietUntil.set(kind, now + QUIET_MS)
      this.#log.warn('RTMP connection closed: it broke a bound', { kind, detail, remote })
      return
    }
    const held = this.#held.get(kind)
    if (held !== undefined) {
      held.count++
      return
    }
    const timer = setTimeout(() => this.#flush(kind), (this.#quietUntil.get(kind) ?? now) - now)
    timer.unref()
    this.#held.set(kind, { count: 1, timer })
  }

  #flush(kind: BoundKind): void {
    const held = this.#held.get(kind)
    this.#held.delete(kind)
    if (held === undefined) return
    this.#quietUntil.set(kind, Date.now() + QUIET_MS)
    this.#log.warn('RTMP connections closed: they broke a bound', { kind, connections: held.count })
  }

  stop(): void {
    for (const kind of [...this.#held.keys()]) {
      clearTimeout(this.#held.get(kind)?.timer)
      this.#flush(kind)
    }
  }
}
