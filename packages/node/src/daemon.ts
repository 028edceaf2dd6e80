import type { Server } from 'node:http'
import type { NodeConfig } from '@meshcast/config'
import type { Logger, Startable } from '@meshcast/interface'
import { MediaServer } from '@meshcast/media'
import { Mesh, newIdentity } from '@meshcast/mesh'
import type { Express } from 'express'
import { closeHttp, createApp, listenHttp } from './http-server.ts'
import { meshInit } from './mesh-init.ts'
import { nodeStatus, type StatusSource } from './status.ts'
import { VERSION } from './version.ts'

/**
 * One meshcast node: the media server (RTMP), the HTTP side and the mesh,
 * started in that order. It is ready once it has joined its cluster.
 * Stopping leaves the mesh first, so the others hear of it at once.
 */
export class Daemon implements Startable {
  /** the node id: its mesh peer id (a fresh one each run) */
  readonly id: string
  readonly config: NodeConfig
  readonly #log: Logger
  readonly #media: MediaServer
  /** null for a standalone node (`nodeType` off) */
  readonly #mesh: Mesh | null
  readonly #up = new Set<string>()
  #startedAt = 0
  #http: Server | null = null
  #starting: Promise<void> | null = null

  constructor(config: NodeConfig, logger: Logger) {
    const identity = newIdentity()
    this.id = identity.id
    this.config = config
    this.#log = logger.child({ node: this.id })
    this.#media = new MediaServer({ rtmp: config.rtmp }, { logger: this.#log })
    this.#mesh =
      config.role === 'standalone' ? null : new Mesh({ ...meshInit(config), identity }, { logger: this.#log })
  }

  /** The mesh, or null on a standalone node. */
  get mesh(): Mesh | null {
    return this.#mesh
  }

  get media(): MediaServer {
    return this.#media
  }

  async start(): Promise<void> {
    this.#starting ??= this.#start()
    await this.#starting
  }

  async #start(): Promise<void> {
    this.#startedAt = Date.now()
    const { role, rtmp, http } = this.config
    this.#log.info('starting', { role, version: VERSION })
    try {
      await this.#media.start()
      this.#up.add('rtmp')
      this.#http = await listenHttp(
        createApp((app) => this.#routes(app), this.#log),
        http,
      )
      this.#up.add('http')
      if (this.#mesh !== null) {
        await this.#mesh.start()
        this.#up.add('mesh')
      }
    } catch (err) {
      await this.stop()
      throw err
    }
    this.#log.info('ready', {
      role,
      rtmp: `${rtmp.host}:${rtmp.port}`,
      http: `${http.host}:${http.port}`,
      ...(this.#mesh === null ? {} : { mesh: this.#mesh.address, view: this.#mesh.view.id }),
    })
  }

  async stop(): Promise<void> {
    await this.#mesh?.stop()
    const http = this.#http
    this.#http = null
    this.#up.clear()
    if (http !== null) await closeHttp(http)
    await this.#media.stop()
    this.#starting = null
  }

  status() {
    const source: StatusSource = {
      id: this.id,
      role: this.config.role,
      version: VERSION,
      startedAt: this.#startedAt,
      listeners:
        this.#mesh === null
          ? { rtmp: this.config.rtmp, http: this.config.http }
          : { rtmp: this.config.rtmp, http: this.config.http, mesh: this.config.mesh },
      up: this.#up,
    }
    return { ...nodeStatus(source), mesh: this.#mesh?.status() ?? null }
  }

  #routes(app: Express): void {
    app.get('/api/status', (_req, res) => {
      res.json(this.status())
    })
    app.get('/api/members', (_req, res) => {
      const mesh = this.#mesh
      if (mesh === null) {
        res.json({ standalone: true, members: [] })
        return
      }
      res.json({ viewId: mesh.view.id, members: mesh.members() })
    })
    app.get('/api/view', (_req, res) => {
      const mesh = this.#mesh
      if (mesh === null) {
        res.json({ standalone: true, id: null, coordinator: null, members: [this.id] })
        return
      }
      const view = mesh.view
      res.json({
        id: view.id,
        counter: view.counter,
        coordinator: view.coordinator,
        members: view.members.map((m) => m.id),
      })
    })
  }
}
