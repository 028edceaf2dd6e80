import type { IncomingMessage, RequestListener, Server } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import { createRequire } from 'node:module'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { Logger } from '@meshcast/interface'
import { BurstLog, formatAddress, type HostPort, ListenError, PerAddress } from '@meshcast/interface'
import express, { type Express, type NextFunction, type Request, type Response } from 'express'
import { gateRequests, type SlowedRequests } from './request-gate.ts'
import { RequestRate } from './request-rate.ts'

// required, not imported: an ESM import of node:http builds its export facade, which loads undici
// and http2 (for http.WebSocket and its kin), 2.3 MiB of heap and 13 MiB of RSS in a bare process
const { createServer } = createRequire(import.meta.url)('node:http') as typeof import('node:http')

/**
 * The node's HTTP side (5080): the JSON API and the applications (each at
 * `/<name>/`), the round-robin servlet, the probes and the dashboard. `/cluster`,
 * `/api/*`, `/metrics`, `/healthz` and `/readyz` answer `Cache-Control: no-store`, without an ETag and never 304.
 */
export function createApp(routes: (app: Express) => void, logger: Logger): Express {
  const app = express()
  app.disable('x-powered-by')
  app.set('json spaces', 2)
  // Every body express sends here is computed per request (a round-robin pick, a status): an ETag
  // only invites a 304 for an answer that should differ. Files keep Last-Modified (send, serve-static).
  app.set('etag', false)
  app.use(DYNAMIC_PATHS, noStore)
  routes(app)
  app.use('/api', (req: Request, res: Response) => {
    res.status(404).json({ error: 'not found', path: req.originalUrl })
  })
  // Express needs the four-argument signature to recognise an error handler.
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    logger.error('http handler failed', { path: req.originalUrl, err: String(err) })
    if (!res.headersSent) res.status(500).json({ error: 'internal error' })
  })
  return app
}

/** Answers that change from one request to the next: never stored, never "not modified". */
const DYNAMIC_PATHS = ['/cluster', '/api', '/metrics', '/healthz', '/readyz']

function noStore(req: Request, res: Response, next: NextFunction): void {
  res.set('Cache-Control', 'no-store')
  // express answers `If-None-Match: *` with 304 even without an ETag (fresh 2.0.0): drop the conditions
  delete req.headers['if-none-match']
  delete req.headers['if-modified-since']
  next()
}

export interface HttpOptions {
  /** takes WebSocket (and other) upgrade requests; without it they are refused */
  upgrade?: (req: IncomingMessage, socket: Duplex, head: Buffer) => void
  /** connections (WebSockets and FLV players included) one remote address may hold; 0 or absent: no limit */
  connectionsPerIp?: number
  /** requests per second one remote address may make before they wait their turn; 0 or absent: no limit */
  requestRate?: number
  /** counts and logs refused connections and bad requests */
  refusals?: HttpRefusals
  /** counts and logs connections slowed by the request rate */
  slowed?: SlowedRequests
  /** HTTPS with this certificate (`setSecureContext` swaps it later) */
  tls?: { cert: Buffer; key: Buffer }
}

/** Why a connection or request was refused before any route saw it. */
export type HttpRefusal =
  | 'connections-per-ip'
  | 'bad-request'
  | 'headers-too-large'
  | 'timeout'
  | 'request-rate'
  | 'tls-handshake'
  | 'admin-auth'

/** Every kind, for counters that show zeros too. */
export const HTTP_REFUSALS: readonly HttpRefusal[] = [
  'connections-per-ip',
  'bad-request',
  'headers-too-large',
  'timeout',
  'request-rate',
  'tls-handshake',
  'admin-auth',
]

/** Refusals by kind, a few log lines per flood. */
export class HttpRefusals extends BurstLog<HttpRefusal> {
  constructor(log: Logger) {
    super(log, HTTP_REFUSALS, {
      one: 'HTTP connection refused or closed',
      many: 'HTTP connections refused or closed',
    })
  }
}

/** ms a client has to send a request's headers: slow-loris clients hold a socket no longer. */
const HEADERS_TIMEOUT_MS = 10_000
/** ms a client has to send a whole request (FLV answers stream for hours: this bounds the request, not the answer). */
const REQUEST_TIMEOUT_MS = 30_000

export async function listenHttp(app: Express, address: HostPort, opts: HttpOptions = {}): Promise<Server> {
  const rate = opts.requestRate ?? 0
  const handler =
    rate > 0
      ? gateRequests(app, new RequestRate(rate), {
          slowed: (detail, remote) => opts.slowed?.event('request-rate', detail, remote),
          refused: (detail, remote) => opts.refusals?.event('request-rate', detail, remote),
        })
      : app
  const server = serverFor(handler, opts.tls)
  const listener = opts.tls === undefined ? 'HTTP' : 'HTTPS'
  server.listen(address.port, address.host)
  server.headersTimeout = HEADERS_TIMEOUT_MS
  server.requestTimeout = REQUEST_TIMEOUT_MS
  const { upgrade, refusals } = opts
  if (upgrade !== undefined) server.on('upgrade', upgrade)
  capPerAddress(server, new PerAddress(opts.connectionsPerIp ?? 0), refusals)
  // a plain HTTP client on the HTTPS port, a client refusing the certificate, garbage, too slow
  server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    refusals?.event('tls-handshake', err.code ?? err.message, socket.remoteAddress)
    socket.destroy()
  })
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) =>
    answerClientError(err, socket, refusals),
  )
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve)
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(new ListenError(listener, formatAddress(address), err))
    })
  })
  return server
}

/** A plain server, or an HTTPS one whose TLS handshake has the headers' time (node's default is 120 s). */
function serverFor(handler: RequestListener, tls: HttpOptions['tls']): Server {
  if (tls === undefined) return createServer(handler)
  return createHttpsServer({ ...tls, handshakeTimeout: HEADERS_TIMEOUT_MS }, handler)
}

/** Closes a new connection from an address that holds `cap` already. */
function capPerAddress(server: Server, open: PerAddress, refusals: HttpRefusals | undefined): void {
  if (open.cap <= 0) return
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress
    if (!open.take(address)) {
      refusals?.event('connections-per-ip', `the address holds ${open.cap} connections already`, address)
      socket.destroy()
      return
    }
    socket.once('close', () => open.give(address))
  })
}

/**
 * A request node's parser refused (malformed, headers over 16 KiB, too slow):
 * answered as node would without a listener, and counted.
 */
function answerClientError(
  err: NodeJS.ErrnoException,
  socket: Duplex,
  refusals: HttpRefusals | undefined,
): void {
  // a client that went away mid-request is no offender
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy()
    return
  }
  const [kind, status] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? (['headers-too-large', '431 Request Header Fields Too Large'] as const)
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? (['timeout', '408 Request Timeout'] as const)
        : (['bad-request', '400 Bad Request'] as const)
  refusals?.event(kind, err.code ?? err.message, (socket as Socket).remoteAddress)
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
}

export async function closeHttp(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()))
  // keep-alive sockets would hold close() open until they time out
  server.closeAllConnections()
  await closed
}
