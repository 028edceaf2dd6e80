import type { IncomingMessage, Server } from 'node:http'
import type { Duplex } from 'node:stream'
import type { Logger } from '@meshcast/interface'
import { formatAddress, type HostPort, ListenError } from '@meshcast/interface'
import express, { type Express, type NextFunction, type Request, type Response } from 'express'

/**
 * The node's HTTP side (5080): the JSON API and the applications (each at
 * `/<name>/`); the round-robin servlet and dashboard mount here later.
 */
export function createApp(routes: (app: Express) => void, logger: Logger): Express {
  const app = express()
  app.disable('x-powered-by')
  app.set('json spaces', 2)
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
