import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import type { AppSpec, Logger, Role, Startable } from '@meshcast/interface'
import express, { type Router } from 'express'
import { currentScope } from './app-scope.ts'
import { refuseUpgrade } from './app-sockets.ts'
import { HostedApp } from './hosted-app.ts'
import type { AppInfo, ClusterPort } from './types.ts'

/** How long an app's `start` may take before it is failed. */
export const DEFAULT_START_TIMEOUT_MS = 10_000
/** How long an app's `stop` may take before its things are released anyway. */
export const DEFAULT_STOP_TIMEOUT_MS = 5_000
/** How often WebSocket clients are pinged; one that missed the last ping is cut. */
export const DEFAULT_WS_PING_INTERVAL_MS = 30_000

export interface AppHostInit {
  apps: readonly AppSpec[]
  /** this node's role, for `isOrigin()` / `isEdge()` */
  role: Role
  /** false on a standalone node (the cluster is a `SoloCluster`) */
  clustered: boolean
  startTimeout?: number
  stopTimeout?: number
  wsPingInterval?: number
}

export interface AppHostComponents {
  logger: Logger
  /** the mesh, or a `SoloCluster` */
  cluster: ClusterPort
}

/**
 * Hosts the node's applications (Red5's application adapter): loads each
 * module, gives it its context, mounts its HTTP routes at `/<name>/` and its
 * WebSockets under the same prefix, and stops it alone when it fails.
 *
 * Order: `load()` before the node joins its cluster (each app's bus channel
 * is subscribed, so nothing is lost before it starts), `start()` once it has
 * joined, `stop()` before it leaves.
 */
export class AppHost implements Startable {
  /** mount it on the node's express app: it answers `/<name>/…` and passes everything else on */
  readonly router: Router = express.Router({ caseSensitive: true })
  readonly #apps = new Map<string, HostedApp>()
  readonly #log: Logger
  #loading: Promise<void> | null = null

  constructor(init: AppHostInit, components: AppHostComponents) {
    this.#log = components.logger.child({ component: 'apps' })
    const appInit = {
      role: init.role,
      clustered: init.clustered,
      startTimeout: init.startTimeout ?? DEFAULT_START_TIMEOUT_MS,
      stopTimeout: init.stopTimeout ?? DEFAULT_STOP_TIMEOUT_MS,
      wsPingInterval: init.wsPingInterval ?? DEFAULT_WS_PING_INTERVAL_MS,
    }
    for (const spec of init.apps) {
      const app = new HostedApp(spec, appInit, { logger: components.logger, cluster: components.cluster })
      this.#apps.set(spec.name, app)
      this.router.use(`/${spec.name}`, app.httpHandler)
    }
  }

  /** Imports every app's module; one that fails is logged and left stopped. Safe to call twice. */
  async load(): Promise<void> {
    this.#loading ??= Promise.all([...this.#apps.values()].map((app) => app.load())).then(() => {})
    await this.#loading
  }

  /** Starts every loaded app; resolves when each has started or failed. */
  async start(): Promise<void> {
    await this.load()
    await Promise.all([...this.#apps.values()].map((app) => app.start()))
    const running = this.list().filter((a) => a.state === 'running')
    if (this.#apps.size > 0) {
      this.#log.info('applications started', { running: running.map((a) => a.name), of: this.#apps.size })
    }
  }

  async stop(): Promise<void> {
    await Promise.all([...this.#apps.values()].map((app) => app.stop()))
  }

  list(): AppInfo[] {
    return [...this.#apps.values()].map((app) => app.info())
  }

  get(name: string): HostedApp | undefined {
    return this.#apps.get(name)
  }

  /** For the HTTP server's `upgrade` event: `/<name>/<path>` goes to that app's WebSocket route. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = (req.url ?? '/').split('?', 1)[0] ?? '/'
    const slash = path.indexOf('/', 1)
    const name = slash === -1 ? path.slice(1) : path.slice(1, slash)
    const app = this.#apps.get(name)
    if (app === undefined) refuseUpgrade(socket, 404, 'no WebSocket here')
    else app.upgrade(req, socket, head, slash === -1 ? '/' : path.slice(slash))
  }

  /**
   * Pins an error that escaped every callback (an uncaught exception or an
   * unhandled rejection) on the app whose code raised it, and fails that
   * app. False when no app of this host raised it.
   */
  claim(err: unknown): boolean {
    const scope = currentScope()
    const app = scope === undefined ? undefined : this.#apps.get(scope.name)
    if (app === undefined) return false
    app.fail(err, 'uncaught')
    return true
  }
}
