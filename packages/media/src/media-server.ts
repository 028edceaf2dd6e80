import type net from 'node:net'
import type { HostPort, Logger, Startable } from '@meshcast/interface'
import { MeshcastError, SafeEmitter } from '@meshcast/interface'
import { Context, type NmsSession, NodeMediaServer, RtmpSession } from './nms.ts'
import { bridgeNmsLogger } from './nms-log-bridge.ts'
import { closeServer, listenTcp } from './rtmp-listener.ts'
import { type StreamSession, toStreamSession } from './stream-session.ts'

export interface MediaInit {
  /** where RTMP clients connect */
  rtmp: HostPort
}

export interface MediaComponents {
  logger: Logger
}

export interface MediaEvents {
  publish: StreamSession
  unpublish: StreamSession
  play: StreamSession
  stop: StreamSession
}

export interface StreamInfo {
  path: string
  publisher: StreamSession | null
  subscribers: number
  videoCodec: number
  audioCodec: number
  width: number
  height: number
}

/** Thrown when a second media server is started in one process. */
export class MediaSingletonError extends MeshcastError {
  constructor() {
    super('node-media-server keeps process-wide state: only one media server may run per process')
    this.name = 'MediaSingletonError'
  }
}

let running: MediaServer | null = null

/** NMS event name → ours. */
const EVENTS = [
  ['postPublish', 'publish'],
  ['donePublish', 'unpublish'],
  ['postPlay', 'play'],
  ['donePlay', 'stop'],
] as const

export class MediaServer implements Startable {
  readonly events: SafeEmitter<MediaEvents>
  readonly #init: MediaInit
  readonly #log: Logger
  #nms: NodeMediaServer | null = null
  #server: net.Server | null = null
  #unhook: (() => void)[] = []
  /** players seen starting: NMS reports a "donePlay" for every non-publisher that closes, played or not */
  readonly #playing = new Set<string>()

  constructor(init: MediaInit, components: MediaComponents) {
    this.#init = init
    this.#log = components.logger.child({ component: 'media' })
    this.events = new SafeEmitter((err, event) =>
      this.#log.error('media event listener failed', { event, err: String(err) }),
    )
  }

  get rtmpAddress(): HostPort {
    return this.#init.rtmp
  }

  async start(): Promise<void> {
    if (this.#server !== null) return
    if (running !== null && running !== this) throw new MediaSingletonError()
    running = this
    bridgeNmsLogger(this.#log.child({ component: 'nms' }))
    // No http/rtmp ports: NMS opens no listener of its own, and run() is never
    // called, so its JSON store (which would restore relay tasks and write
    // ./data) is never opened.
    this.#nms ??= new NodeMediaServer({ bind: this.#init.rtmp.host, webadmin: { enable: false } })
    this.#hookEvents()
    try {
      this.#server = await listenTcp('RTMP', this.#init.rtmp, (socket) => this.#accept(socket))
    } catch (err) {
      this.#unhookEvents()
      running = null
      throw err
    }
  }

  async stop(): Promise<void> {
    const server = this.#server
    if (server === null) return
    this.#server = null
    const closed = closeServer(server)
    for (const session of Context.sessions.values()) session.close()
    await this.#nms?.stop()
    this.#nms = null
    await closed
    this.#unhookEvents()
    this.#playing.clear()
    running = null
  }

  /** Live streams on this node, publisher and subscriber counts. */
  streams(): StreamInfo[] {
    return [...Context.broadcasts.values()].map((b) => ({
      path: b.streamPath,
      publisher: b.publisher === null ? null : toStreamSession(b.publisher),
      subscribers: b.subscribers.size,
      videoCodec: b.publisher?.videoCodec ?? 0,
      audioCodec: b.publisher?.audioCodec ?? 0,
      width: b.publisher?.videoWidth ?? 0,
      height: b.publisher?.videoHeight ?? 0,
    }))
  }

  #accept(socket: net.Socket): void {
    const session = new RtmpSession(socket)
    session.run()
    Context.sessions.set(session.id, session as unknown as NmsSession)
  }

  #hookEvents(): void {
    for (const [nmsName, ours] of EVENTS) {
      const handler = (s: NmsSession) => {
        if (!this.#tracks(ours, s.id)) return
        const session = toStreamSession(s)
        this.#log.info(ours, { path: session.path, session: session.id, remote: session.remote })
        this.events.emit(ours, session)
      }
      Context.eventEmitter.on(nmsName, handler)
      this.#unhook.push(() => Context.eventEmitter.off(nmsName, handler))
    }
  }

  /** Whether an event is worth reporting; keeps play/stop in pairs. */
  #tracks(event: keyof MediaEvents, id: string): boolean {
    if (event === 'play') this.#playing.add(id)
    if (event === 'stop') return this.#playing.delete(id)
    return true
  }

  #unhookEvents(): void {
    for (const unhook of this.#unhook.splice(0)) unhook()
  }
}

/** Factory in the project's shape: `mediaServer(init)(components)`. */
export function mediaServer(init: MediaInit): (components: MediaComponents) => MediaServer {
  return (components) => new MediaServer(init, components)
}
