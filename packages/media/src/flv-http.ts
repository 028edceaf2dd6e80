import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import type { Logger } from '@meshcast/interface'
import { declareTracks } from './flv-header.ts'
import { Context, FlvSession, type NmsWebSocket, type NmsWebSocketServer, nmsWs } from './nms.ts'
import { parseFlvUrl } from './stream-path.ts'

export interface FlvHttpOptions {
  acceptsPublish: boolean
  /** why this node refuses publishers (when it does) */
  refuseText: string
  /** false while the media server is stopped: 503 */
  running: () => boolean
  /** why players are refused now (the node is shutting down: 503), or null */
  refusal: () => string | null
  logger: Logger
}

/** The body of a WebSocket close frame is at most 123 bytes of reason. */
const MAX_CLOSE_REASON = 123
/** Players send nothing; a larger WebSocket message is an abuse. */
const MAX_WS_MESSAGE = 64 * 1024

const CORS = { 'Access-Control-Allow-Origin': '*' }

/**
 * HTTP-FLV and WS-FLV playback on the node's own HTTP server, through NMS's
 * FlvSession (what its http_server.js does, minus express and minus
 * publishing: FLV publish is always refused here; publish over RTMP).
 */
export class FlvHttp {
  readonly #o: FlvHttpOptions
  #wss: NmsWebSocketServer | null = null

  constructor(options: FlvHttpOptions) {
    this.#o = options
  }

  /** `GET /app/name.flv`; false when the URL is not an FLV path (the caller falls through). */
  request(req: IncomingMessage, res: ServerResponse): boolean {
    const target = parseFlvUrl(req.url)
    if (target === null) return false
    if (!target.ok) return reply(res, 400, target.message)
    const method = req.method ?? 'GET'
    if (method === 'OPTIONS') {
      res.writeHead(204, { ...CORS, 'Access-Control-Allow-Methods': 'GET, HEAD, OPTIONS' }).end()
      return true
    }
    if (method === 'POST' || method === 'PUT')
      return reply(res, 403, `${target.path}: ${this.#publishRefusal()}`)
    if (method !== 'GET' && method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD, OPTIONS')
      return reply(res, 405, `${method} is not supported on ${target.path}.flv`)
    }
    if (!this.#o.running()) return reply(res, 503, 'the media server is not running')
    const refused = this.#o.refusal()
    if (refused !== null) return reply(res, 503, `${target.path}: ${refused}`)
    res.writeHead(200, { ...CORS, 'Content-Type': 'video/x-flv', 'Cache-Control': 'no-cache, no-store' })
    if (method === 'HEAD') {
      res.end()
      return true
    }
    res.flushHeaders()
    req.socket.setNoDelay(true)
    // what FlvSession reads of an express request (flv_session.js:53-57); defined on the
    // instance because an express request has getter-only `query` and `hostname`
    shadow(req, {
      params: { app: target.app, name: target.name },
      query: Object.fromEntries(new URL(req.url ?? '/', 'http://x').searchParams),
      hostname: (req.headers.host ?? '').replace(/:\d+$/, ''),
    })
    this.#start(new FlvSession(req, res))
    return true
  }

  /** A WebSocket upgrade to `/app/name.flv`; false when the URL is not an FLV path. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const target = parseFlvUrl(req.url)
    if (target === null) return false
    if (!target.ok) return refuseUpgrade(socket, 400, target.message)
    if (!this.#o.running()) return refuseUpgrade(socket, 503, 'the media server is not running')
    const refused = this.#o.refusal()
    if (refused !== null) return refuseUpgrade(socket, 503, `${target.path}: ${refused}`)
    this.#wss ??= new nmsWs.WebSocketServer({ noServer: true, maxPayload: MAX_WS_MESSAGE })
    this.#wss.handleUpgrade(req, socket, head, (ws: NmsWebSocket) => {
      const protocol = ws.protocol.toLowerCase()
      // flv_session.js:45 makes these subprotocols a publisher
      if (protocol === 'post' || protocol === 'publisher') {
        this.#o.logger.info('FLV publish refused', { path: target.path, remote: req.socket.remoteAddress })
        ws.close(1008, `${target.path}: ${this.#publishRefusal()}`.slice(0, MAX_CLOSE_REASON))
        return
      }
      // FlvSession takes the path from the URL (pathname up to the first dot)
      const query = (req.url ?? '').split('?')[1]
      req.url = `${target.path}.flv${query === undefined ? '' : `?${query}`}`
      this.#start(new FlvSession(req, ws))
    })
    return true
  }

  #start(session: FlvSession): void {
    // a player's only input is its request body or WebSocket messages: bad bytes end it, not the node
    const onData = session.onData
    session.onData = (data: Buffer) => {
      try {
        onData(data)
      } catch (err) {
        this.#o.logger.warn('FLV player sent what the server cannot parse; closing it', {
          session: session.id,
          error: (err as Error).message,
        })
        session.close()
      }
    }
    declareTracks(session)
    session.run()
    Context.sessions.set(session.id, session)
  }

  #publishRefusal(): string {
    return this.#o.acceptsPublish
      ? 'publishing over HTTP-FLV or WS-FLV is not supported; publish over RTMP'
      : this.#o.refuseText
  }
}

function shadow(target: object, values: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(values)) {
    Object.defineProperty(target, key, { value, writable: true, configurable: true, enumerable: true })
  }
}

function reply(res: ServerResponse, status: number, text: string): true {
  res.writeHead(status, { ...CORS, 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' })
  res.end(`${text}\n`)
  return true
}

function refuseUpgrade(socket: Duplex, status: 400 | 503, text: string): true {
  const body = `${text}\n`
  const reason = status === 400 ? 'Bad Request' : 'Service Unavailable'
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  )
  return true
}
