import type { Server } from 'node:http'
import type { NodeConfig } from '@meshcast/config'
import type { Logger, Startable } from '@meshcast/interface'
import { MediaServer } from '@meshcast/media'
import type { Express } from 'express'
import { closeHttp, createApp, listenHttp } from './http-server.ts'
import { newNodeId } from './node-id.ts'
import { nodeStatus, type StatusSource } from './status.ts'
import { VERSION } from './version.ts'

/**
 * One meshcast node: the media server (RTMP) and the HTTP side, started in
 * that order and stopped in reverse. The mesh joins here in a later step.
 */
export class Daemon implements Startable {
  readonly id = newNodeId()
  readonly config: NodeConfig
  readonly #log: Logger
  readonly #media: MediaServer
  readonly #up = new Set<string>()
  #startedAt = 0
  #http: Server | null = null
  #starting: Promise<void> | null = null

  constructor(config: NodeConfig, logger: Logger) {
    this.config = config
    this.#log = logger.child({ node: this.id })
    this.#media = new MediaServer({ rtmp: config.rtmp }, { logger: this.#log })
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
    } catch (err) {
      await this.stop()
      throw err
    }
    this.#log.info('ready', { role, rtmp: `${rtmp.host}:${rtmp.port}`, http: `${http.host}:${http.port}` })
  }

  async stop(): Promise<void> {
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
      listeners: { rtmp: this.config.rtmp, http: this.config.http },
      up: this.#up,
    }
    return nodeStatus(source)
  }

  #routes(app: Express): void {
    app.get('/api/status', (_req, res) => {
      res.json(this.status())
    })
  }
}
