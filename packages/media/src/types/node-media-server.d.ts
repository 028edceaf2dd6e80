// The parts of node-media-server 4.4 that the adapter touches. The package
// ships JSDoc, not declarations; keep this list as short as the adapter.
declare module 'node-media-server' {
  class NodeMediaServer {
    constructor(config: Record<string, unknown>, configPath?: string)
    stop(): Promise<void>
  }
  export = NodeMediaServer
}

declare module 'node-media-server/src/core/logger.js' {
  interface NmsLogger {
    level: string
    log(message: string, level?: string): void
  }
  const logger: NmsLogger
  export = logger
}

declare module 'node-media-server/src/core/context.js' {
  import type { EventEmitter } from 'node:events'

  interface NmsSession {
    id: string
    ip: string
    protocol: string
    isPublisher: boolean
    streamApp: string
    streamName: string
    streamPath: string
    createTime: number
    inBytes: number
    outBytes: number
    videoCodec: number
    videoWidth: number
    videoHeight: number
    audioCodec: number
    close(): void
  }
  interface NmsBroadcast {
    streamPath: string
    publisher: NmsSession | null
    subscribers: Map<string, NmsSession>
  }
  const Context: {
    config: Record<string, unknown>
    sessions: Map<string, NmsSession>
    broadcasts: Map<string, NmsBroadcast>
    eventEmitter: EventEmitter
  }
  export = Context
}

declare module 'node-media-server/src/session/rtmp_session.js' {
  import type { Socket } from 'node:net'

  class RtmpSession {
    constructor(socket: Socket)
    id: string
    run(): void
  }
  export = RtmpSession
}
