import { createHash, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { basicCredentials } from '@meshcast/interface'
import type { NextFunction, Request, Response } from 'express'

/** What a browser is told to send for the admin pages: any user name, the token as password. */
export const ADMIN_CHALLENGE = 'Basic realm="meshcast admin", charset="UTF-8"'

/**
 * The control plane behind `http.admin.token`: the dashboard (`/`,
 * `/dashboard/…`, `/api/dashboard…`), `/metrics` and everything under
 * `/api/` but `/api/status`. `/cluster`, `/healthz`, `/readyz`, playback and
 * the applications stay public (a load balancer and players need them).
 */
export function isAdminPath(path: string): boolean {
  if (path === '/' || path === '/metrics' || path.startsWith('/dashboard/')) return true
  return path.startsWith('/api/') && path !== '/api/status'
}

/**
 * Checks requests against the admin token: `Authorization: Bearer <token>`,
 * or Basic with the token as password (what a browser asks for). Compared in
 * constant time; no token configured lets everyone in.
 */
export class AdminGuard {
  readonly #digest: Buffer | null

  constructor(token: string | null) {
    this.#digest = token === null ? null : digest(token)
  }

  get required(): boolean {
    return this.#digest !== null
  }

  allowed(req: IncomingMessage): boolean {
    if (this.#digest === null) return true
    const given = tokenOf(req.headers.authorization)
    return given !== null && timingSafeEqual(digest(given), this.#digest)
  }

  /** Express middleware: 401 with a Basic challenge for an admin path without the token; `refused` counts it. */
  middleware(refused: (req: Request) => void) {
    return (req: Request, res: Response, next: NextFunction) => {
      if (!isAdminPath(req.path) || this.allowed(req)) return next()
      refused(req)
      res
        .status(401)
        .set({ 'WWW-Authenticate': ADMIN_CHALLENGE, 'Cache-Control': 'no-store' })
        .type('text/plain')
        .send(
          'this page needs the admin token (http.admin.token): Authorization: Bearer <token>, or Basic with the token as password\n',
        )
    }
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest()
}

/** The token of a Bearer header, or the password of a Basic one; null for anything else. */
function tokenOf(header: string | undefined): string | null {
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')
  if (bearer !== null) return bearer[1] ?? null
  return basicCredentials(header).password ?? null
}
