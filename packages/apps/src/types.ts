import type { IncomingMessage } from 'node:http'
import type { ClusterPort, Logger, Role, StateHandlers, View, ViewChange } from '@meshcast/interface'
import type { Router } from 'express'

/**
 * A cluster application: what its module exports, as the default export
 * (an object, or a function that makes one) or as named `start`/`stop`.
 */
export interface Application {
  /**
   * Called once the node has joined its cluster (state received). Register
   * handlers, routes and sockets here. A throw or rejection fails the app.
   */
  start(ctx: AppContext): void | Promise<void>
  /**
   * Called when the node stops, or after the app failed. The cluster handle
   * still sends; afterwards the host releases everything the app registered.
   */
  stop?(): void | Promise<void>
}

/** What the host gives an application when it starts. */
export interface AppContext {
  /** the application's name: its URL prefix `/<name>/` and its bus namespace */
  readonly name: string
  /** the application's folder */
  readonly dir: string
  /** red5.properties `app.<name>.<key>` values, as written */
  readonly settings: Readonly<Record<string, string>>
  /** a logger naming the application */
  readonly log: Logger
  readonly cluster: ClusterHandle
  /** an express Router mounted at `/<name>/`; a route that throws fails the app */
  readonly http: Router
  /** serves the files of `dir` (relative to the app's folder) at `/<name>/`; `public/` is served without asking */
  static(dir: string): void
  /** accepts WebSockets at `/<name>/<path>` */
  websocket(path: string, onConnection: (socket: AppSocket) => void, options?: WebSocketOptions): void
  /** a timer the host clears when the app stops; returns a function that clears it */
  setTimeout(fn: () => void, ms: number): () => void
  setInterval(fn: () => void, ms: number): () => void
}

/**
 * The application's view of the cluster (Red5 Pro's cluster API, JGroups
 * style). Channels, handler names and state names are the app's own: the
 * host puts them in the app's namespace, so apps cannot collide. The bus
 * methods are the mesh's own (`ClusterPort`, where they are described),
 * carried out in that namespace.
 */
export interface ClusterHandle
  extends Pick<ClusterPort, 'send' | 'onMessage' | 'invoke' | 'register' | 'registerState'> {
  /** this node's id (its mesh peer id, new each run) */
  readonly id: string
  readonly role: Role
  /** false on a standalone node (`nodeType` off): a cluster of this node alone */
  readonly clustered: boolean
  isOrigin(): boolean
  /** an edge or a relay */
  isEdge(): boolean
  isCoordinator(): boolean
  /** the current view: members in join order, the first the coordinator */
  readonly view: View
  /** every view change, with who joined and left */
  onView(listener: (change: ViewChange) => void): () => void
  /**
   * Pulls this app's state `name` from one member: what its `provide`
   * returns now, or undefined when it has none. After a merge (`change.merged`),
   * pull from `change.others` what they did while apart. Rejects when the
   * member cannot be reached (within the mesh's `requestTimeout`).
   */
  fetchState(name: string, from: string): Promise<unknown>
}

/** One WebSocket client of an application. */
export interface AppSocket {
  /** unique among this node's sockets */
  readonly id: number
  /** the HTTP upgrade request (url, headers, socket.remoteAddress) */
  readonly request: IncomingMessage
  readonly open: boolean
  /** bytes queued but not yet sent: a slow client shows here */
  readonly bufferedAmount: number
  /** false (nothing sent) when the socket is no longer open */
  send(data: string | Uint8Array): boolean
  close(code?: number, reason?: string): void
  /** text frames arrive as strings, binary frames as bytes */
  onMessage(handler: (data: string | Uint8Array) => void): void
  onClose(handler: (code: number, reason: string) => void): void
}

export interface WebSocketOptions {
  /** largest frame accepted, in bytes; a bigger one closes the socket (1009). Default 64 KiB. */
  maxPayload?: number
}

export type AppState = 'loaded' | 'starting' | 'running' | 'stopping' | 'stopped' | 'failed'

/** One application as `/api/apps` shows it. */
export interface AppInfo {
  name: string
  path: string
  state: AppState
  /** why it failed, when it did */
  error: { name: string; message: string; during: string } | null
  /** ISO time of the last state change */
  since: string
  /** WebSockets open now */
  sockets: number
}

export type { ClusterPort, StateHandlers }
