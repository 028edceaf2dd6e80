import type { IncomingMessage } from 'node:http'
import { createRequire } from 'node:module'
import type { Duplex } from 'node:stream'
import type { Logger } from '@meshcast/interface'
import { type RawData, WebSocket, WebSocketServer } from 'ws'
import type { AppScope } from './app-scope.ts'
import { AppArgumentError } from './errors.ts'
import type { AppSocket, WebSocketOptions } from './types.ts'

// required, not imported: an ESM import of node:http builds its export facade, which loads
// undici (for http.WebSocket), a few MB of memory in every node for nothing
const { STATUS_CODES } = createRequire(import.meta.url)('node:http') as typeof import('node:http')
/** Largest frame a socket accepts unless its route says otherwise. */
export const DEFAULT_MAX_PAYLOAD = 64 * 1024
/** How long a closing socket may take for its close handshake before it is cut. */
const CLOSE_GRACE_MS = 1000

/** Socket ids, unique in the process. */
let nextSocketId = 1

/** Answers an upgrade request with a plain HTTP error and closes the socket. */
export function refuseUpgrade(socket: Duplex, status: number, text: string): void {
  const body = `${text}\n`
  socket.on('error', () => {}) // the client may already be gone
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nConnection: close\r\n` +
      `Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  )
}

interface Route {
  server: WebSocketServer
  onConnection: (socket: AppSocket) => void
}

/** `ws` → `/ws`; no `..`, no query. */
function routePath(path: string): string {
  const normal = path.startsWith('/') ? path : `/${path}`
  if (!/^\/[A-Za-z0-9_.~/-]*$/.test(normal) || normal.includes('..')) {
    throw new AppArgumentError(`bad WebSocket path ${JSON.stringify(path)}`)
  }
  return normal
}

function bufferOf(data: RawData): Buffer {
  if (Array.isArray(data)) return Buffer.concat(data)
  return data instanceof ArrayBuffer ? Buffer.from(data) : data
}

/**
 * One application's WebSockets: its routes under `/<name>/`, the sockets
 * open on them, a ping that cuts clients gone silent, and closing them all
 * when the app stops. Every event reaches the app through its scope.
 */
export class AppSockets {
  readonly #scope: AppScope
  readonly #log: Logger
  readonly #routes = new Map<string, Route>()
  readonly #open = new Set<WebSocket>()
  /** sockets that answered the last ping */
  readonly #alive = new WeakSet<WebSocket>()
  readonly #pingInterval: number
  #pinger: ReturnType<typeof setInterval> | null = null

  constructor(scope: AppScope, logger: Logger, pingInterval: number) {
    this.#scope = scope
    this.#log = logger
    this.#pingInterval = pingInterval
  }

  get count(): number {
    return this.#open.size
  }

  add(path: string, onConnection: (socket: AppSocket) => void, options: WebSocketOptions = {}): void {
    const key = routePath(path)
    if (this.#routes.has(key)) throw new AppArgumentError(`WebSocket path ${key} is already taken`)
    const server = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload: options.maxPayload ?? DEFAULT_MAX_PAYLOAD,
    })
    this.#routes.set(key, { server, onConnection })
  }

  /** Takes an upgrade for `path` (inside the app); false when no route has it. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, path: string): boolean {
    const route = this.#routes.get(path)
    if (route === undefined) return false
    route.server.handleUpgrade(req, socket, head, (ws) => this.#accept(ws, req, route))
    return true
  }

  /** Closes every socket (the clients see `code`) and forgets the routes. */
  closeAll(code: number, reason: string): void {
    if (this.#pinger !== null) clearInterval(this.#pinger)
    this.#pinger = null
    for (const ws of this.#open) {
      ws.close(code, reason)
      setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref()
    }
    this.#open.clear()
    for (const { server } of this.#routes.values()) server.close()
    this.#routes.clear()
  }

  #accept(ws: WebSocket, req: IncomingMessage, route: Route): void {
    if (!this.#scope.live) {
      ws.close(1013, 'application not running')
      return
    }
    this.#open.add(ws)
    this.#alive.add(ws)
    this.#startPinger()
    ws.on('pong', () => this.#alive.add(ws))
    // without an error listener, ws would throw its socket errors at the process
    ws.on('error', (err) => this.#log.debug('WebSocket error', { error: err.message }))
    ws.on('close', () => this.#open.delete(ws))
    const socket = this.#wrap(ws, req)
    this.#scope.call('WebSocket connection', () => route.onConnection(socket))
  }

  #wrap(ws: WebSocket, request: IncomingMessage): AppSocket {
    const scope = this.#scope
    return {
      id: nextSocketId++,
      request,
      get open() {
        return ws.readyState === WebSocket.OPEN
      },
      get bufferedAmount() {
        return ws.bufferedAmount
      },
      send(data) {
        if (ws.readyState !== WebSocket.OPEN) return false
        ws.send(data)
        return true
      },
      close(code = 1000, reason = '') {
        ws.close(code, reason)
      },
      onMessage(handler) {
        ws.on('message', (data: RawData, isBinary: boolean) =>
          scope.call('WebSocket message', () =>
            handler(isBinary ? bufferOf(data) : bufferOf(data).toString('utf8')),
          ),
        )
      },
      onClose(handler) {
        ws.on('close', (code: number, reason: Buffer) =>
          scope.call('WebSocket close', () => handler(code, reason.toString())),
        )
      },
    }
  }

  #startPinger(): void {
    if (this.#pinger !== null) return
    this.#pinger = setInterval(() => {
      for (const ws of this.#open) {
        if (!this.#alive.has(ws)) {
          ws.terminate()
          continue
        }
        this.#alive.delete(ws)
        ws.ping()
      }
    }, this.#pingInterval)
    this.#pinger.unref()
  }
}
