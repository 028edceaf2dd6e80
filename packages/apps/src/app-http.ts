import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import express, {
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
  type Router,
} from 'express'
import type { AppScope } from './app-scope.ts'

/** An error express or a middleware raised for a bad request (http-errors style), not an app bug. */
function clientStatus(err: unknown): number | null {
  const e = err as { status?: unknown; statusCode?: unknown } | null
  const status = e?.status ?? e?.statusCode
  return typeof status === 'number' && status >= 400 && status < 500 ? status : null
}

function plain(res: Response, status: number, text: string): void {
  res.status(status).type('text/plain').send(`${text}\n`)
}

/**
 * One application's HTTP side, mounted at `/<name>/`: its own routes first
 * (`ctx.http`), then its static folders, then 404. A route that throws or
 * rejects fails the app; while the app is not running every request gets a
 * 503 saying so.
 */
export class AppHttp {
  /** where the app adds its routes: `ctx.http` */
  readonly router: Router = express.Router()
  readonly #statics: Router = express.Router()
  readonly #outer: Router = express.Router()
  readonly #name: string
  readonly #dir: string
  readonly #scope: AppScope
  readonly #closed: () => string | null

  /**
   * `closed` says why the app cannot answer now (503), or null when it can.
   */
  constructor(name: string, dir: string, scope: AppScope, closed: () => string | null) {
    this.#name = name
    this.#dir = dir
    this.#scope = scope
    this.#closed = closed
    this.#outer.use(this.router)
    this.#outer.use((err: unknown, req: Request, res: Response, _next: NextFunction) =>
      this.#appError(err, req, res),
    )
    this.#outer.use(this.#statics)
    this.#outer.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
      // a static file that cannot be sent is not a reason to stop the app
      const status = clientStatus(err) ?? 500
      if (!res.headersSent) plain(res, status, status === 500 ? 'cannot send this file' : 'bad request')
    })
    this.#outer.use((req: Request, res: Response) => plain(res, 404, `not found: ${req.originalUrl}`))
  }

  /** Serves `dir` (relative to the app's folder) under `/<name>/`. */
  serveStatic(dir: string): void {
    this.#statics.use(express.static(resolve(this.#dir, dir)))
  }

  /** Serves the app's `public/` folder, when it has one. */
  servePublic(): void {
    const pub = resolve(this.#dir, 'public')
    if (existsSync(pub)) this.serveStatic(pub)
  }

  /** The handler the host mounts at `/<name>`. */
  readonly handler: RequestHandler = (req, res, next) => {
    const [path = '', query] = req.originalUrl.split('?', 2)
    if (path === `/${this.#name}`) {
      // relative links in the app's pages need the trailing slash
      res.redirect(301, `/${this.#name}/${query === undefined ? '' : `?${query}`}`)
      return
    }
    const closed = this.#closed()
    if (closed !== null) {
      plain(res, 503, closed)
      return
    }
    this.#scope.enter(() => this.#outer(req, res, next))
  }

  #appError(err: unknown, req: Request, res: Response): void {
    const status = clientStatus(err)
    if (status !== null) {
      if (!res.headersSent) plain(res, status, 'bad request')
      return
    }
    this.#scope.report(err, `HTTP ${req.method} ${req.originalUrl}`)
    if (!res.headersSent) plain(res, 500, `application "${this.#name}" failed on ${req.method} ${req.path}`)
    else res.destroy()
  }
}
