import type { IncomingMessage, Server } from 'node:http'
import type { Duplex } from 'node:stream'
import type { Logger } from '@meshcast/interface'
import { formatAddress, type HostPort, ListenError } from '@meshcast/interface'
import express, { type Express, type NextFunction, type Request, type Response } from 'express'

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
}

export async function listenHttp(app: Express, address: HostPort, opts: HttpOptions = {}): Promise<Server> {
  const server = app.listen(address.port, address.host)
  const { upgrade } = opts
  if (upgrade !== undefined) server.on('upgrade', upgrade)
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve)
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(new ListenError('HTTP', formatAddress(address), err))
    })
  })
  return server
}

export async function closeHttp(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()))
  // keep-alive sockets would hold close() open until they time out
  server.closeAllConnections()
  await closed
}
