import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Logger } from '@meshcast/interface'
import express, { type Request, type Response, type Router } from 'express'
import type { DashboardFeed, FeedUpdate } from './feed.ts'

/** Where the page's own files are. */
export const PUBLIC_DIR = fileURLToPath(new URL('../public/', import.meta.url))
/** URL prefix of the page's scripts and styles (an application may not take this name). */
export const ASSETS_PATH = '/dashboard'
/** Open event streams one node serves at most (each is a socket and a write per tick). */
export const DEFAULT_MAX_PAGES = 100
/** ms between comment lines on an idle event stream, so proxies do not close it. */
const KEEPALIVE_MS = 15_000

/**
 * The page loads only from this node: scripts and styles from here, the
 * video from a `blob:` (media source extensions), its data from here.
 */
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "media-src 'self' blob:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')

/** The folder of the mpegts.js build shipped with the project (no CDN at run time). */
function mpegtsDist(): string {
  const pkg = createRequire(import.meta.url).resolve('mpegts.js/package.json')
  return join(dirname(pkg), 'dist')
}

export interface RouterInit {
  maxPages?: number
}

/**
 * `GET /` (the page), `GET /dashboard/*` (its script, style and mpegts.js),
 * `GET /api/dashboard` (the current picture as JSON) and
 * `GET /api/dashboard/events` (server-sent events: `update` with every tick).
 */
export function dashboardRouter(feed: DashboardFeed, logger: Logger, init: RouterInit = {}): Router {
  const max = init.maxPages ?? DEFAULT_MAX_PAGES
  const router = express.Router()
  const page = join(PUBLIC_DIR, 'index.html')
  router.get('/', (_req, res) => {
    res.set('Content-Security-Policy', CSP).sendFile(page)
  })
  // relative to its own folder: `send` refuses absolute paths through a dot folder such as node_modules/.pnpm
  const mpegts = mpegtsDist()
  router.get(`${ASSETS_PATH}/mpegts.js`, (_req, res) => {
    res.sendFile('mpegts.js', { root: mpegts })
  })
  router.use(ASSETS_PATH, express.static(PUBLIC_DIR, { index: false }))
  router.use(ASSETS_PATH, (req, res) => {
    res.status(404).type('text/plain').send(`the dashboard has no file ${req.path}`)
  })
  router.get('/api/dashboard', (_req, res) => {
    res.json(feed.current())
  })
  router.get('/api/dashboard/events', (req, res) => events(feed, max, logger, req, res))
  return router
}

function send(res: Response, update: FeedUpdate): void {
  res.write(`event: update\ndata: ${JSON.stringify(update)}\n\n`)
}

function events(feed: DashboardFeed, max: number, logger: Logger, req: Request, res: Response): void {
  if (feed.listeners >= max) {
    logger.warn('dashboard page refused: too many open', { max })
    res.status(503).type('text/plain').send(`this node serves at most ${max} dashboard pages at once`)
    return
  }
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache, no-transform',
    Connection: 'keep-alive',
  })
  res.flushHeaders()
  // a page that reconnects asks again after 2 s, not the browser's default 3 s
  res.write('retry: 2000\n\n')
  send(res, feed.current())
  const unsubscribe = feed.subscribe((update) => {
    // a page that reads slower than we write gets no more until it catches up
    if (res.writableNeedDrain) return
    send(res, update)
  })
  const keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS)
  const close = () => {
    clearInterval(keepalive)
    unsubscribe()
  }
  req.on('close', close)
  res.on('error', close)
}
