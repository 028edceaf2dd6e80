import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import {
  type AccessVerdict,
  type Authorize,
  basicCredentials,
  CREDENTIAL_KEYS,
  credentialsFromQuery,
  type Logger,
  mergeCredentials,
} from '@meshcast/interface'
import { Context, FlvSession, type NmsWebSocket, type NmsWebSocketServer, nmsWs } from '../nms/nms.ts'
import { parseFlvUrl } from '../stream-path.ts'
import { declareTracks } from './flv-header.ts'

export interface FlvHttpOptions {
  acceptsPublish: boolean
  /** why this node refuses publishers (when it does) */
  refuseText: string
  /** false while the media server is stopped: 503 */
  running: () => boolean
  /** why players are refused now (the node is shutting down: 503), or null */
  refusal: () => string | null
  /** who may play; asked before the answer's status line */
  authorize: Authorize
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
    void this.#ask(req, target, 'http-flv').then((verdict) => {
      if (res.destroyed) return
      if (!verdict.allowed) return refuseHttp(res, target.path, verdict)
      this.#play(req, res, target, method)
    })
    return true
  }

  #play(
    req: IncomingMessage,
    res: ServerResponse,
    target: { app: string; name: string },
    method: string,
  ): void {
    res.writeHead(200, { ...CORS, 'Content-Type': 'video/x-flv', 'Cache-Control': 'no-cache, no-store' })
    if (method === 'HEAD') {
      res.end()
      return
    }
    res.flushHeaders()
    req.socket.setNoDelay(true)
    // what FlvSession reads of an express request (flv_session.js:53-57); defined on the
    // instance because an express request has getter-only `query` and `hostname`
    shadow(req, {
      params: { app: target.app, name: target.name },
      query: Object.fromEntries(queryOf(req.url)),
      hostname: (req.headers.host ?? '').replace(/:\d+$/, ''),
    })
    this.#start(new FlvSession(req, res))
  }

  /** The access check for a play, with the credentials of the query or of a Basic Authorization header. */
  #ask(
    req: IncomingMessage,
    target: { app: string; name: string },
    protocol: string,
  ): Promise<AccessVerdict> {
    const fromQuery = credentialsFromQuery(new URL(req.url ?? '/', 'http://x').searchParams)
    return this.#o.authorize({
      action: 'play',
      app: target.app,
      name: target.name,
      credentials: mergeCredentials(fromQuery, basicCredentials(req.headers.authorization)),
      clientIp: req.socket.remoteAddress ?? '',
      protocol,
    })
  }

  /** A WebSocket upgrade to `/app/name.flv`; false when the URL is not an FLV path. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const target = parseFlvUrl(req.url)
    if (target === null) return false
    if (!target.ok) return refuseUpgrade(socket, 400, target.message)
    if (!this.#o.running()) return refuseUpgrade(socket, 503, 'the media server is not running')
    const refused = this.#o.refusal()
    if (refused !== null) return refuseUpgrade(socket, 503, `${target.path}: ${refused}`)
    void this.#ask(req, target, 'ws-flv').then((verdict) => {
      if (socket.destroyed) return
      if (!verdict.allowed) {
        const status = verdict.reason === 'no-credentials' ? 401 : 403
        return refuseUpgrade(socket, status, `${target.path}: authentication failed`)
      }
      this.#upgrade(req, socket, head, target)
    })
    return true
  }

  #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, target: { path: string }): void {
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
      const query = queryOf(req.url).toString()
      req.url = `${target.path}.flv${query === '' ? '' : `?${query}`}`
      this.#start(new FlvSession(req, ws))
    })
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

const REASONS = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 503: 'Service Unavailable' }

function refuseUpgrade(socket: Duplex, status: keyof typeof REASONS, text: string): true {
  const body = `${text}\n`
  const challenge = status === 401 ? `WWW-Authenticate: ${CHALLENGE}\r\n` : ''
  socket.end(
    `HTTP/1.1 ${status} ${REASONS[status]}\r\nContent-Type: text/plain; charset=utf-8\r\n${challenge}` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  )
  return true
}

/** What a player without credentials is told it may send: Basic, or `?username=&password=` (Red5 Pro's way). */
const CHALLENGE = 'Basic realm="meshcast", charset="UTF-8"'

function refuseHttp(res: ServerResponse, path: string, verdict: AccessVerdict & { allowed: false }): void {
  if (verdict.reason === 'no-credentials') res.setHeader('WWW-Authenticate', CHALLENGE)
  reply(res, verdict.reason === 'no-credentials' ? 401 : 403, `${path}: authentication failed`)
}

/** The URL's query without the credential keys (checked, then cut from what NMS's FlvSession keeps). */
function queryOf(url: string | undefined): URLSearchParams {
  const query = new URL(url ?? '/', 'http://x').searchParams
  for (const key of CREDENTIAL_KEYS) query.delete(key)
  return query
}
