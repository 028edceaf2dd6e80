import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import type { AppSpec, Logger, Role } from '@meshcast/interface'
import type { RequestHandler } from 'express'
import { AppBus } from './app-bus.ts'
import { AppHttp } from './app-http.ts'
import { AppScope } from './app-scope.ts'
import { AppSockets, refuseUpgrade } from './app-sockets.ts'
import { clusterHandle } from './cluster-handle.ts'
import { AppTimeoutError, describeError } from './errors.ts'
import { appFolder, loadApplication } from './load-application.ts'
import type { AppContext, AppInfo, Application, AppState, ClusterPort } from './types.ts'

export interface HostedAppInit {
  role: Role
  clustered: boolean
  startTimeout: number
  stopTimeout: number
  wsPingInterval: number
}

export interface HostedAppComponents {
  logger: Logger
  cluster: ClusterPort
}

/** Resolves with `work`, or rejects with AppTimeoutError after `ms`. */
async function within<T>(work: Promise<T>, ms: number, timeout: () => Error): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timeout()), ms)
  })
  try {
    return await Promise.race([work, late])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * One application on this node, from load to stop. Its failure is its own:
 * whatever it throws, wherever, is logged with its name, its `stop()` is
 * called, and everything it registered is released (bus handlers, state,
 * view listeners, timers, sockets; its routes answer 503). The node and the
 * other applications carry on.
 */
export class HostedApp {
  readonly spec: AppSpec
  readonly #init: HostedAppInit
  readonly #port: ClusterPort
  readonly #log: Logger
  readonly #scope: AppScope
  readonly #bus: AppBus
  readonly #http: AppHttp
  readonly #sockets: AppSockets
  /** the app's folder (the module's, when the spec names a file) */
  readonly #dir: string
  #app: Application | null = null
  #state: AppState = 'loaded'
  #since = Date.now()
  #error: AppInfo['error'] = null
  #stopping: Promise<void> | null = null

  constructor(spec: AppSpec, init: HostedAppInit, components: HostedAppComponents) {
    this.spec = spec
    this.#init = init
    this.#port = components.cluster
    this.#log = components.logger.child({ app: spec.name })
    this.#scope = new AppScope(spec.name, (err, during) => this.fail(err, during))
    this.#bus = new AppBus(spec.name, this.#port, this.#scope, this.#log)
    this.#dir = appFolder(spec)
    this.#http = new AppHttp(spec.name, this.#dir, this.#scope, () => this.#closedReason())
    this.#sockets = new AppSockets(this.#scope, this.#log, init.wsPingInterval)
  }

  get name(): string {
    return this.spec.name
  }

  get state(): AppState {
    return this.#state
  }

  /** The HTTP handler mounted at `/<name>`. */
  get httpHandler(): RequestHandler {
    return this.#http.handler
  }

  info(): AppInfo {
    return {
      name: this.spec.name,
      path: this.spec.path,
      state: this.#state,
      error: this.#error,
      since: new Date(this.#since).toISOString(),
      sockets: this.#sockets.count,
    }
  }

  /**
   * Imports the module and subscribes the app's bus channel, so that what
   * arrives from the join on is held for it. A module that cannot be loaded
   * fails the app, not the node.
   */
  async load(): Promise<void> {
    if (this.#state !== 'loaded' || this.#app !== null) return
    this.#scope.track(this.#bus.attach())
    try {
      const { app, entry } = await this.#scope.enter(() => loadApplication(this.spec))
      this.#app = app
      this.#log.debug('application loaded', { entry })
    } catch (err) {
      this.fail(err, 'load')
    }
  }

  /** Calls the app's `start(ctx)`; resolves once it has started or failed. */
  async start(): Promise<void> {
    const app = this.#app
    if (this.#state !== 'loaded' || app === null) return
    this.#setState('starting')
    this.#scope.live = true
    this.#http.servePublic()
    const started = Date.now()
    try {
      const ctx = this.#context()
      await within(
        Promise.resolve(this.#scope.enter(() => app.start(ctx))),
        this.#init.startTimeout,
        () => new AppTimeoutError(this.spec.name, 'start', this.#init.startTimeout),
      )
    } catch (err) {
      this.fail(err, 'start')
      await this.#stopping
      return
    }
    if (this.state !== 'starting') return // it failed while starting
    this.#setState('running')
    this.#bus.release()
    this.#log.info('application started', { path: this.spec.path, ms: Date.now() - started })
  }

  /** Stops the app (its `stop()`, then everything it registered). Safe to call twice. */
  async stop(): Promise<void> {
    await this.#shutdown('stopped')
  }

  /** The app's code threw or rejected: log it with the app's name and stop the app. */
  fail(err: unknown, during: string): void {
    const error = describeError(err)
    const fields = { during, error: error.message, errorName: error.name, stack: (err as Error)?.stack }
    if (this.#state === 'stopped' || this.#state === 'failed' || this.#state === 'stopping') {
      this.#log.warn('application threw while stopping or after it stopped', fields)
      return
    }
    this.#log.error('application failed; stopping it (the node and other applications carry on)', fields)
    this.#error = { ...error, during }
    void this.#shutdown('failed')
  }

  /** Takes a WebSocket upgrade for `path` inside the app, or refuses it (503 while not running, 404). */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, path: string): void {
    const closed = this.#closedReason()
    if (closed !== null) refuseUpgrade(socket, 503, closed)
    else if (!this.#sockets.upgrade(req, socket, head, path))
      refuseUpgrade(socket, 404, `no WebSocket at /${this.spec.name}${path}`)
  }

  /** Why the app cannot serve now, or null while it runs. */
  #closedReason(): string | null {
    const name = this.spec.name
    switch (this.#state) {
      case 'running':
        return null
      case 'loaded':
      case 'starting':
        return `application "${name}" is starting; try again in a moment`
      case 'failed':
        return `application "${name}" failed and was stopped (${this.#error?.during ?? 'unknown'}); the node's log says why`
      default:
        return `application "${name}" is stopped`
    }
  }

  #context(): AppContext {
    const scope = this.#scope
    const name = this.spec.name
    return {
      name,
      dir: this.#dir,
      settings: this.spec.settings,
      log: this.#log,
      cluster: clusterHandle({
        name,
        role: this.#init.role,
        clustered: this.#init.clustered,
        port: this.#port,
        scope,
        bus: this.#bus,
      }),
      http: this.#http.router,
      static: (dir) => this.#http.serveStatic(dir),
      websocket: (path, onConnection, options) => this.#sockets.add(path, onConnection, options),
      setTimeout: (fn, ms) => {
        scope.assertOpen()
        const handle = setTimeout(() => {
          forget()
          scope.call('timer', fn)
        }, ms)
        const forget = scope.track(() => clearTimeout(handle))
        return forget
      },
      setInterval: (fn, ms) => {
        scope.assertOpen()
        const handle = setInterval(() => scope.call('interval timer', fn), ms)
        return scope.track(() => clearInterval(handle))
      },
    }
  }

  #shutdown(end: 'stopped' | 'failed'): Promise<void> {
    this.#stopping ??= this.#teardown(end)
    return this.#stopping
  }

  async #teardown(end: 'stopped' | 'failed'): Promise<void> {
    const wasStarted = this.#state === 'starting' || this.#state === 'running'
    this.#setState('stopping')
    this.#scope.live = false
    const app = this.#app
    if (wasStarted && app?.stop !== undefined) {
      try {
        await within(
          Promise.resolve(this.#scope.enter(() => app.stop?.())),
          this.#init.stopTimeout,
          () => new AppTimeoutError(this.spec.name, 'stop', this.#init.stopTimeout),
        )
      } catch (err) {
        this.#log.error('application stop failed', { error: describeError(err).message })
      }
    }
    this.#sockets.closeAll(
      end === 'failed' ? 1011 : 1001,
      end === 'failed' ? 'application failed' : 'server stopping',
    )
    this.#scope.close((err) =>
      this.#log.warn('releasing an application handler failed', { error: String(err) }),
    )
    this.#setState(end)
    if (wasStarted)
      this.#log.info(end === 'failed' ? 'application stopped after failing' : 'application stopped')
  }

  #setState(state: AppState): void {
    this.#state = state
    this.#since = Date.now()
  }
}
