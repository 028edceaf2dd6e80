import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { BurstLog, type Logger } from '@meshcast/interface'
import type { RequestRate } from './request-rate.ts'

/** Logs connections whose requests were delayed, a few lines per flood. */
export class SlowedRequests extends BurstLog<'request-rate'> {
  constructor(log: Logger) {
    super(log, ['request-rate'], {
      one: 'HTTP connection slowed: its address broke the request rate',
      many: 'HTTP connections slowed: their addresses broke the request rate',
    })
  }
}

/** What the gate needs besides the rate. */
export interface GateOptions {
  /** told once per connection that had a request delayed */
  slowed: (detail: string, remote: string | undefined) => void
  /** told for each request refused with 429 */
  refused: (detail: string, remote: string | undefined) => void
  now?: () => number
}

/** A connection's requests held for their turn. */
interface Held {
  timers: Set<ReturnType<typeof setTimeout>>
  /** a request of this connection was answered 429: the rest it pipelined are never answered, it closes after the 429 */
  refused: boolean
  told: boolean
}

/**
 * Runs `handler` for each request when its address's turn comes (`rate`).
 * While a connection holds a request waiting, its socket is not read, so a
 * client pipelining requests as fast as it can is slowed by TCP and costs the
 * node what the rate allows, held requests included (at most one read's worth
 * and the rate's `maxWaitMs` of turns). Past that, 429 with `Connection: close`
 * (after the answers to what it was still waiting for).
 * Responses still go out in request order (node's HTTP server queues them).
 */
export function gateRequests(
  handler: RequestListener,
  rate: RequestRate,
  opts: GateOptions,
): RequestListener {
  const now = opts.now ?? performance.now.bind(performance)
  const connections = new WeakMap<Socket, Held>()
  const heldBy = (socket: Socket): Held => {
    let held = connections.get(socket)
    if (held === undefined) {
      held = { timers: new Set(), refused: false, told: false }
      connections.set(socket, held)
      const timers = held.timers
      socket.once('close', () => {
        for (const t of timers) clearTimeout(t)
        timers.clear()
      })
    }
    return held
  }
  return (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket
    const held = connections.get(socket)
    // node still hands over what it parsed of the last read
    if (socket.destroyed || held?.refused === true) return
    const wait = rate.admit(socket.remoteAddress, now())
    if (wait === 0) {
      handler(req, res)
      return
    }
    const mine = held ?? heldBy(socket)
    if (wait < 0) {
      // read no more of it, ever: what it pipelined behind the 429 is never answered, and every
      // request node parses is kept until the socket closes (then shifted out one by one)
      mine.refused = true
      stopReading(socket)
      opts.refused(
        `over ${rate.perSecond} requests per second with ${rate.maxWaitMs / 1000} s of them queued (http.max_request_rate)`,
        socket.remoteAddress,
      )
      res.writeHead(429, {
        'Content-Type': 'application/json; charset=utf-8',
        'Retry-After': String(Math.max(1, Math.ceil(rate.maxWaitMs / 1000))),
        Connection: 'close',
      })
      res.end(`${JSON.stringify({ error: 'too many requests', limit: rate.perSecond })}\n`)
      return
    }
    if (!mine.told) {
      mine.told = true
      opts.slowed(
        `over ${rate.perSecond} requests per second (http.max_request_rate): read more slowly`,
        socket.remoteAddress,
      )
    }
    if (mine.timers.size === 0) stopReading(socket)
    const timer = setTimeout(() => {
      mine.timers.delete(timer)
      if (mine.timers.size === 0 && !mine.refused) startReading(socket)
      if (!socket.destroyed) handler(req, res)
    }, wait)
    mine.timers.add(timer)
  }
}

/**
 * The libuv handle under a socket. node's HTTP parser reads it directly, so
 * `socket.pause()` alone does not stop it, and node restarts it itself
 * (`onSocketResume`, after its own output backpressure): while a connection
 * holds requests, its handle's `readStart` is shadowed by a no-op, and the
 * real one runs on release if node still means to read (`reading`).
 */
interface Handle {
  reading?: boolean
  readStop?: () => number
  readStart?: () => number
}

function handleOf(socket: Socket): Handle | null {
  return (socket as unknown as { _handle?: Handle | null })._handle ?? null
}

/** stands in for a held handle's readStart */
const noRead = (): number => 0

function stopReading(socket: Socket): void {
  const handle = handleOf(socket)
  if (handle === null || handle.readStart === noRead) return
  handle.readStart = noRead
  handle.readStop?.()
}

function startReading(socket: Socket): void {
  const handle = handleOf(socket)
  if (handle === null || handle.readStart !== noRead) return
  // the prototype's readStart shows through again
  Reflect.deleteProperty(handle, 'readStart')
  const readStart: Handle['readStart'] = Reflect.get(handle, 'readStart')
  if (!socket.destroyed && handle.reading !== false) readStart?.call(handle)
}
