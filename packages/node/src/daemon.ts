import type { Server } from 'node:http'
import type { Server as HttpsServer } from 'node:https'
import { type AppHost, catchApplicationErrors } from '@meshcast/apps'
import { StreamAuth } from '@meshcast/auth'
import type { NodeConfig } from '@meshcast/config'
import { DashboardFeed } from '@meshcast/dashboard'
import { formatAddress, isEdgeRole, type Logger, MeshcastError, type Startable } from '@meshcast/interface'
import { MediaServer } from '@meshcast/media'
import { Mesh, newIdentity } from '@meshcast/mesh'
import type { Express } from 'express'
import type { Registry } from 'prom-client'
import { createAppHost } from './apps.ts'
import { type ClusterSide, clusteredSide, standaloneSide } from './cluster-side.ts'
import { dashboardSource } from './dashboard-source.ts'
import { durations } from './durations.ts'
import { AdminGuard } from './http/admin-guard.ts'
import { SlowedRequests } from './http/request-gate.ts'
import { nodeRoutes } from './http/routes.ts'
import { closeHttp, createApp, type HttpOptions, HttpRefusals, listenHttp } from './http/server.ts'
import { Lifecycle, type Phase } from './lifecycle.ts'
import { meshInit } from './mesh-init.ts'
import { metricsRegistry } from './metrics.ts'
import { MediaPlane } from './plane/media-plane.ts'
import { LoopWatch, type Readiness } from './probes.ts'
import { pullCredentials } from './pull-credentials.ts'
import { STOP_TIMEOUT_MS } from './run-until-signal.ts'
import { pullCa, securityWarnings, tlsCertificate } from './security.ts'
import { nodeStatus, type StatusSource } from './status.ts'
import type { TlsCertificate } from './tls-certificate.ts'
import { VERSION } from './version.ts'

/** What a player that arrives while the node shuts down is told. */
const DRAINING_TEXT = 'this node is shutting down: play from another node'
/** ms between looks at the player count while a stop waits for players to leave. */
const PLAYERS_POLL_MS = 100

/** `start()` after `stop()`: a daemon runs once; make a new one (a new process, for the media server) to run again. */
export class DaemonStoppedError extends MeshcastError {
  constructor() {
    super('this daemon was stopped: it does not start again; start a new one')
    this.name = 'DaemonStoppedError'
  }
}

/**
 * One meshcast node: the media server (RTMP), the HTTP side, the mesh and
 * the applications, started in that order. It is ready once it has joined
 * its cluster and its applications have started (or failed: an app's
 * failure is its own). Stopping drains first: no new players, adverts
 * withdrawn, and a wait (at most `shutdown.drain`) until no edge pulls from
 * it; then the applications stop and it leaves the mesh, so the others hear
 * of it at once.
 */
export class Daemon implements Startable {
  /** the node id: its mesh peer id (a fresh one each run) */
  readonly id: string
  readonly config: NodeConfig
  readonly #log: Logger
  readonly #media: MediaServer
  readonly #auth: StreamAuth
  readonly #apps: AppHost
  /** the mesh and the media plane, or a standalone node's null object */
  readonly #cluster: ClusterSide
  readonly #life: Lifecycle
  readonly #metrics: Registry
  readonly #httpRefusals: HttpRefusals
  readonly #httpSlowed: SlowedRequests
  readonly #admin: AdminGuard
  readonly #dashboard: DashboardFeed
  readonly #loop = new LoopWatch()
  #appsStarted = false
  /** true from the start of a stop until it ends */
  #draining = false
  #uncatch: (() => void) | null = null
  #startedAt = 0
  #http: Server | null = null
  #https: Server | null = null
  /** the control plane's own listener (admin.port), or null */
  #adminHttp: Server | null = null
  /** connections to the admin listener: the only ones the control plane answers while it is on */
  readonly #adminSockets = new WeakSet<object>()
  readonly #certificate: TlsCertificate | null
  /** stops handing renewed certificates to the HTTPS server */
  #unwatchHttps: (() => void) | null = null
  #starting: Promise<void> | null = null
  #stopping: Promise<void> | null = null
  /** a stop was asked for: this daemon does not start again (the mesh, the media server and their sockets are gone) */
  #stopped = false

  constructor(config: NodeConfig, logger: Logger) {
    const identity = newIdentity()
    this.id = identity.id
    this.config = config
    this.#log = logger.child({ node: this.id })
    const pulls = isEdgeRole(config.role)
    const times = durations(config)
    this.#auth = new StreamAuth(
      { ...config.auth, clusterPassword: config.cluster.password },
      this.#log.child({ component: 'auth' }),
    )
    const tokens = this.#auth.tokens
    // a certificate that cannot be used stops the node here, with the file named
    this.#certificate = tlsCertificate(config, this.#log.child({ component: 'tls' }))
    const certificate = this.#certificate
    this.#media = new MediaServer(
      {
        rtmp: config.rtmp,
        // Red5 Pro's edges take no publishers; an origin (or a standalone node) does.
        acceptsPublish: !pulls,
        refusePublishText: `this node is ${config.role === 'edge' ? 'an edge' : 'a relay'}: publish to an origin`,
        stallMs: times.stallMs,
        rtmpBounds: {
          setupMs: times.setupMs,
          inactivityMs: config.rtmpLimits.inactivityMs,
          connectionsPerIp: config.rtmpLimits.connectionsPerIp,
          pendingPerIp: config.rtmpLimits.pendingPerIp,
          chunksPerSecond: config.rtmpLimits.chunkRate,
        },
        authorize: this.#auth.authorize,
        pullCredentials: pullCredentials(config, tokens),
        ...(config.tls.rtmps === null || certificate === null
          ? {}
          : { rtmps: { address: config.tls.rtmps, secureContext: () => certificate.context } }),
        pullCa: pullCa(config),
      },
      { logger: this.#log },
    )
    const mesh =
      config.role === 'standalone' ? null : new Mesh({ ...meshInit(config), identity }, { logger: this.#log })
    this.#apps = createAppHost(config, this.id, mesh, this.#log)
    const plane =
      mesh === null
        ? null
        : new MediaPlane({
            config,
            id: this.id,
            media: this.#media,
            mesh,
            relays: pulls ? this.#media.relays() : null,
            logger: this.#log,
          })
    this.#cluster =
      mesh === null || plane === null
        ? standaloneSide(this.id, this.#media)
        : clusteredSide(config, mesh, plane)
    this.#httpRefusals = new HttpRefusals(this.#log.child({ component: 'http' }))
    this.#httpSlowed = new SlowedRequests(this.#log.child({ component: 'http' }))
    this.#admin = new AdminGuard(config.admin.token)
    this.#metrics = this.#metricsRegistry()
    this.#life = new Lifecycle(this.#phases(), this.#log)
    this.#dashboard = new DashboardFeed(
      dashboardSource({
        id: this.id,
        role: config.role,
        http: formatAddress(config.http),
        rtmp: formatAddress({ host: config.cluster.publicIp, port: config.cluster.publicPort }),
        media: this.#media,
        mesh,
        book: plane?.book ?? null,
        warnings: securityWarnings(config),
      }),
      this.#log.child({ component: 'dashboard' }),
    )
  }

  /** How long `stop()` may take: the drain, then the rest (runUntilSignal gives up after that). */
  get stopTimeoutMs(): number {
    return durations(this.config).drainMs + STOP_TIMEOUT_MS
  }

  /** Starts everything; a second call waits for the first. Throws `DaemonStoppedError` once `stop()` was called, or after a start that failed. */
  async start(): Promise<void> {
    if (this.#stopped) throw new DaemonStoppedError()
    this.#starting ??= this.#start()
    await this.#starting
  }

  async #start(): Promise<void> {
    this.#startedAt = Date.now()
    const { role, rtmp, http } = this.config
    this.#log.info('starting', { role, version: VERSION })
    for (const warning of securityWarnings(this.config)) this.#log.warn(warning, { component: 'security' })
    try {
      await this.#life.start()
    } catch (err) {
      // what started was stopped again; the mesh identity and the media server's sockets are spent
      this.#stopped = true
      throw err
    }
    this.#log.info('ready', {
      role,
      rtmp: `${rtmp.host}:${rtmp.port}`,
      http: `${http.host}:${http.port}`,
      ...this.#cluster.readyFields(),
    })
  }

  /** Drains, then stops everything; waits for a start in progress first; a call while a stop runs waits for that one. */
  async stop(): Promise<void> {
    this.#stopped = true
    this.#stopping ??= this.#stop().finally(() => {
      this.#stopping = null
    })
    await this.#stopping
  }

  async #stop(): Promise<void> {
    // the phases begun are known only once the start has run its course (a failed start stopped them itself)
    await this.#starting?.catch(() => undefined)
    await this.#life.stop()
  }

  /**
   * The parts of a node in the order they start; they stop in reverse, after
   * the drain (a `beforeStop`) has run with everything still up. The
   * applications are loaded before the HTTP side and the mesh (each app's
   * bus channel is subscribed, so messages sent from the join on are held
   * for it) and started last, once the node has joined.
   */
  #phases(): Phase[] {
    const { config } = this
    return [
      { name: 'event loop watch', start: () => this.#loop.start(), stop: () => this.#loop.stop() },
      { name: 'auth', start: () => this.#auth.start(), stop: () => this.#auth.stop() },
      {
        name: 'media server',
        up: config.tls.rtmps === null ? ['rtmp'] : ['rtmp', 'rtmps'],
        start: () => this.#media.start(),
        stop: () => this.#media.stop(),
      },
      {
        name: 'drain',
        beforeStop: () => this.#drain(),
        stop: () => {
          this.#draining = false
        },
      },
      {
        // an app's stray exception or rejection fails that app, not the node
        name: 'application errors',
        start: () => {
          if (config.webapps.apps.length > 0) this.#uncatch = catchApplicationErrors(this.#apps)
        },
        stop: () => {
          this.#uncatch?.()
          this.#uncatch = null
        },
      },
      // its stop is for a start that failed before the apps started; AppHost.stop runs once either way
      { name: 'applications loaded', start: () => this.#apps.load(), stop: () => this.#apps.stop() },
      {
        name: 'http',
        up: [
          'http',
          ...(config.tls.https === null ? [] : ['https']),
          ...(config.admin.listener === null ? [] : ['admin']),
        ],
        start: () => this.#listen(),
        stop: () => this.#unlisten(),
      },
      ...this.#cluster.phases,
      { name: 'dashboard', start: () => this.#dashboard.start(), stop: () => this.#dashboard.stop() },
      {
        name: 'applications',
        start: async () => {
          await this.#apps.start()
          this.#appsStarted = true
        },
        stop: async () => {
          this.#appsStarted = false
          await this.#apps.stop()
        },
      },
    ]
  }

  /** The HTTP listeners: plain, HTTPS (its certificate followed), the admin one. */
  async #listen(): Promise<void> {
    const { config } = this
    const app = createApp((app) => this.#routes(app), this.#log)
    const options: HttpOptions = {
      upgrade: (req, socket, head) => {
        if (!this.#media.flvUpgrade(req, socket, head)) this.#apps.handleUpgrade(req, socket, head)
      },
      connectionsPerIp: config.httpLimits.connectionsPerIp,
      requestRate: config.httpLimits.requestRate,
      refusals: this.#httpRefusals,
      slowed: this.#httpSlowed,
    }
    this.#http = await listenHttp(app, config.http, options)
    const certificate = this.#certificate
    if (config.tls.https !== null && certificate !== null) {
      const https = await listenHttp(app, config.tls.https, { ...options, tls: certificate.pem })
      this.#https = https
      this.#unwatchHttps = certificate.onChange((pem) => (https as HttpsServer).setSecureContext(pem))
    }
    certificate?.start()
    if (config.admin.listener !== null) {
      const admin = await listenHttp(app, config.admin.listener, options)
      this.#adminHttp = admin
      // registered before any connection: the first comes after this turn of the event loop
      admin.on('connection', (socket) => this.#adminSockets.add(socket))
    }
  }

  async #unlisten(): Promise<void> {
    const servers = [this.#http, this.#https, this.#adminHttp]
    this.#http = null
    this.#https = null
    this.#adminHttp = null
    this.#certificate?.stop()
    this.#unwatchHttps?.()
    this.#unwatchHttps = null
    await Promise.all(servers.map((server) => (server === null ? null : closeHttp(server))))
    this.#httpRefusals.stop()
    this.#httpSlowed.stop()
  }

  /**
   * The first part of a stop, while everything still runs: refuse new
   * players and publishers (`/readyz` turns 503); withdraw the adverts and
   * mark this member draining (no node routes viewers here any more); then
   * wait, at most `shutdown.drain` in all, until no member pulls from this
   * node (they switch upstream before its streams end) and until its own
   * players have left, so that a load balancer or `/cluster` has moved new
   * viewers elsewhere before the ones still watching are cut.
   */
  async #drain(): Promise<void> {
    this.#draining = true
    this.#media.drain(DRAINING_TEXT)
    const timeoutMs = durations(this.config).drainMs
    const started = Date.now()
    await this.#cluster.drain(timeoutMs, this.#log)
    await this.#playersLeave(timeoutMs - (Date.now() - started))
  }

  /** Waits at most `timeoutMs` for this node's players to leave; says how many are cut. */
  async #playersLeave(timeoutMs: number): Promise<void> {
    const players = () => this.#media.streams().reduce((n, s) => n + s.subscribers, 0)
    if (players() === 0) return
    this.#log.info('draining: waiting for players to leave', {
      players: players(),
      timeoutMs: Math.max(0, timeoutMs),
    })
    const deadline = Date.now() + timeoutMs
    while (players() > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, PLAYERS_POLL_MS))
    }
    const left = players()
    if (left > 0) this.#log.warn('drain over: players still watching are cut', { players: left })
    else this.#log.info('drained: every player left')
  }

  #metricsRegistry(): Registry {
    return metricsRegistry({
      node: { id: this.id, role: this.config.role, version: VERSION, draining: () => this.#draining },
      media: this.#media,
      http: {
        refusals: () => this.#httpRefusals.counts,
        slowed: () => this.#httpSlowed.counts['request-rate'],
      },
      auth: { counts: () => this.#auth.counts() },
      ...this.#cluster.metrics,
    })
  }

  status() {
    const source: StatusSource = {
      id: this.id,
      role: this.config.role,
      version: VERSION,
      startedAt: this.#startedAt,
      listeners: {
        rtmp: this.config.rtmp,
        ...(this.config.tls.rtmps === null ? {} : { rtmps: this.config.tls.rtmps }),
        http: this.config.http,
        ...(this.config.tls.https === null ? {} : { https: this.config.tls.https }),
        ...(this.#cluster.listener === null ? {} : { mesh: this.#cluster.listener }),
        ...(this.config.admin.listener === null ? {} : { admin: this.config.admin.listener }),
      },
      up: this.#life.up,
    }
    const status = nodeStatus(source)
    // ready once the apps have started too: a page must not meet "starting"; not while shutting down
    return {
      ...status,
      ready: status.ready && this.#appsStarted && !this.#draining,
      draining: this.#draining,
      mesh: this.#cluster.status(),
    }
  }

  /** What `/readyz` weighs. */
  #readiness(): Readiness {
    return {
      listeners: this.status().listeners,
      mesh: this.#cluster.state(),
      appsStarted: this.#appsStarted,
      apps: this.#apps.list(),
      draining: this.#draining,
    }
  }

  #routes(app: Express): void {
    nodeRoutes(app, {
      viaAdmin: this.config.admin.listener === null ? null : (req) => this.#adminSockets.has(req.socket),
      admin: this.#admin,
      refusals: this.#httpRefusals,
      media: this.#media,
      status: () => this.status(),
      loop: this.#loop,
      readiness: () => this.#readiness(),
      metrics: this.#metrics,
      dashboard: this.#dashboard,
      cluster: this.#cluster.routes,
      apps: this.#apps,
      log: this.#log,
    })
  }
}
