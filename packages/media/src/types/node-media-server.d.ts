// The parts of node-media-server 4.4.3 that the adapter touches. The package
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

declare module 'node-media-server/src/core/avpacket.js' {
  /** One audio, video or data message (core/avpacket.js). */
  class AVPacket {
    codec_id: number
    /** 8 audio, 9 video, 18 script data */
    codec_type: number
    /** 0 audio header, 1 audio frame, 2 video header, 3 keyframe, 4 inter frame, 5 data, 6 video HDR metadata */
    flags: number
    pts: number
    dts: number
    size: number
    /** the whole FLV tag body; only [0, size) is valid (it may be the RTMP parser's reused buffer) */
    data: Buffer
  }
  export = AVPacket
}

declare module 'node-media-server/src/session/base_session.js' {
  /** Every session (session/base_session.js); the publisher fields are what BroadcastServer writes. */
  class BaseSession {
    id: string
    ip: string
    protocol: string
    isPublisher: boolean
    streamHost: string
    streamApp: string
    streamName: string
    streamPath: string
    streamQuery: Record<string, unknown>
    createTime: number
    endTime: number
    inBytes: number
    outBytes: number
    playCount: number
    videoCodec: number
    videoWidth: number
    videoHeight: number
    audioCodec: number
    audioChannels: number
    audioSamplerate: number
    audioDatarate: number
    videoFramerate: number
    videoDatarate: number
    sendBuffer: (buffer: Buffer) => void
    close: () => void
  }
  export = BaseSession
}

declare module 'node-media-server/src/server/broadcast_server.js' {
  import type BaseSession from 'node-media-server/src/session/base_session.js'

  /** One stream path: its publisher, its players, the cached headers and GOP (server/broadcast_server.js). */
  class BroadcastServer {
    constructor(streamPath: string)
    streamPath: string
    publisher: BaseSession | null
    subscribers: Map<string, BaseSession>
    publishGraceMs: number
    /** null when accepted, else why not (emits prePublish and postPublish either way) */
    postPublish(session: BaseSession): string | null
    /** starts the "reconnecting" grace; the publish ends `publishGraceMs` later */
    donePublish(session: BaseSession): void
    /** ends the publish now: emits donePublish, clears the caches, unregisters an empty broadcast */
    _finishPublish(): void
    postPlay(session: BaseSession): string | null
    donePlay(session: BaseSession): void
    getPublishStatus(): 'publishing' | 'reconnecting' | 'idle'
    // broadcastMessage and NMS's caches are left out on purpose: media goes through
    // packages/media's fanout/, which keeps its own cache (NMS's stays empty)
  }
  export = BroadcastServer
}

declare module 'node-media-server/src/core/context.js' {
  import type { EventEmitter } from 'node:events'
  import type BroadcastServer from 'node-media-server/src/server/broadcast_server.js'
  import type BaseSession from 'node-media-server/src/session/base_session.js'

  const Context: {
    config: Record<string, unknown>
    sessions: Map<string, BaseSession>
    broadcasts: Map<string, BroadcastServer>
    eventEmitter: EventEmitter
  }
  export = Context
}

declare module 'node-media-server/src/protocol/rtmp.js' {
  import type AVPacket from 'node-media-server/src/core/avpacket.js'

  interface RtmpHeader {
    fmt: number
    cid: number
    timestamp: number
    length: number
    type: number
    stream_id: number
  }
  /** The RTMP protocol engine (protocol/rtmp.js): handshake, chunk parser, messages; no I/O. */
  class Rtmp {
    parserPacket: { header: RtmpHeader; payload: Buffer; clock: number }
    inChunkSize: number
    ackSize: number
    streamApp: string
    streamName: string
    streamId: number
    onConnectCallback: (req: { app: string; name: string; host: string; query: unknown }) => void
    onPlayCallback: () => void
    onPushCallback: () => void
    onPacketCallback: (packet: AVPacket) => void
    onOutputCallback: (buffer: Buffer) => void
    /** server side: bytes from the client; a string on a parse error */
    parserData(buffer: Buffer): string | null
    chunkRead(data: Buffer, p: number, bytes: number): string | null
    controlHandler(): void
    eventHandler(): void
    invokeHandler(): void
    /** an audio, video or data message was parsed (parserPacket holds it) */
    dataHandler(): void
    /** `connect`: cmdObj holds app and tcUrl; `args` the first argument after it (NMS decodes one) */
    onConnect(message: { cmdObj?: unknown; args?: unknown; transId?: unknown }): void
    onPublish(message: { streamName?: unknown }): void
    onPlay(message: { streamName?: unknown }): void
    sendACK(size: number): void
    sendWindowACK(size: number): void
    setChunkSize(size: number): void
    sendStreamStatus(status: number, streamId: number): void
    sendInvokeMessage(sid: number, opt: Record<string, unknown>): void
    sendDataMessage(opt: Record<string, unknown>, sid: number): void
    sendStatusMessage(sid: number, level: string, code: string, description: string): void
    sendRtmpSampleAccess(sid?: number): void
    respondPlay(): void
    static createMessage(packet: AVPacket): Buffer
  }
  export = Rtmp
}

declare module 'node-media-server/src/protocol/rtmp_client.js' {
  import type { Socket } from 'node:net'
  import type Rtmp from 'node-media-server/src/protocol/rtmp.js'

  /** NMS's RTMP client (protocol/rtmp_client.js): connect, handshake, connect/createStream/play. */
  class RtmpClient extends Rtmp {
    socket: Socket | null
    connected: boolean
    urlInfo: { host: string; port: number; app: string; streamName: string } | null
    receivedBytes: number
    lastAckBytes: number
    onCloseCallback: (hadError: boolean) => void
    onErrorCallback: (error: Error) => void
    onStatusCallback: (code: string, info: Record<string, unknown>) => void
    handleData: (data: Buffer) => void
    connect(url: string): Promise<void>
    static parseUrl(url: string): {
      host: string
      port: number
      app: string
      streamName: string
      query: Record<string, string>
    }
    sendConnect(): Promise<unknown>
    /** any command; `options` are its AMF fields after the transaction id (connect: cmdObj, args) */
    sendCommand(cmd: string, options: Record<string, unknown>, sid?: number): Promise<unknown>
    sendCreateStream(): Promise<number>
    sendPlay(streamName: string): Promise<unknown>
    /** publish on the id createStream returned (testing's Enhanced RTMP publisher) */
    sendPublish(streamName: string, type?: string): Promise<unknown>
    /** `@setDataFrame onMetaData` on the client's stream id */
    sendMetaData(metaData: Record<string, unknown>): void
    startHeartbeat(intervalMs?: number): void
    stopHeartbeat(): void
    write(buffer: Buffer): void
    disconnect(): void
  }
  export = RtmpClient
}

declare module 'node-media-server/src/session/rtmp_session.js' {
  import type { Socket } from 'node:net'
  import type AVPacket from 'node-media-server/src/core/avpacket.js'
  import type Rtmp from 'node-media-server/src/protocol/rtmp.js'
  import type BroadcastServer from 'node-media-server/src/server/broadcast_server.js'
  import type BaseSession from 'node-media-server/src/session/base_session.js'

  class RtmpSession extends BaseSession {
    constructor(socket: Socket)
    socket: Socket
    rtmp: Rtmp
    broadcast: BroadcastServer
    /** the parser's packet handler, bound by run(): replace it before run() to wrap it */
    onPacket: (packet: AVPacket) => void
    /** socket "data" handler, bound by run(): replace it before run() to wrap it */
    onData: (data: Buffer) => void
    /** the client started publishing / playing (bound by run() as the parser's callbacks) */
    onPush: () => void
    onPlay: () => void
    run(): void
  }
  export = RtmpSession
}

declare module 'node-media-server/src/session/flv_session.js' {
  import type { IncomingMessage, ServerResponse } from 'node:http'
  import type BroadcastServer from 'node-media-server/src/server/broadcast_server.js'
  import type BaseSession from 'node-media-server/src/session/base_session.js'

  /** An HTTP-FLV or WS-FLV session (session/flv_session.js); `res` is a response or NMS's own WebSocket. */
  class FlvSession extends BaseSession {
    constructor(req: IncomingMessage, res: ServerResponse | object)
    broadcast: BroadcastServer
    req: IncomingMessage
    res: ServerResponse | object
    onData: (data: Buffer) => void
    run(): void
  }
  export = FlvSession
}

declare module 'node-media-server/src/protocol/amf.js' {
  const AMF: {
    decodeAmf0Cmd(data: Buffer): Record<string, unknown>
    encodeAmf0Cmd(opt: Record<string, unknown>): Buffer
    decodeAmf0Data(data: Buffer): Record<string, unknown>
    encodeAmf0Data(opt: Record<string, unknown>): Buffer
  }
  export = AMF
}

declare module 'node-media-server/src/protocol/flv.js' {
  import type AVPacket from 'node-media-server/src/core/avpacket.js'

  /** FLV tags (protocol/flv.js): what an RTMP audio/video/data message body is. */
  const Flv: {
    parserTag(type: number, time: number, size: number, data: Buffer): AVPacket
    createHeader(hasAudio: boolean, hasVideo: boolean): Buffer
    createMessage(packet: AVPacket): Buffer
    /** a streaming FLV parser: bytes in any pieces in, a packet per tag out (its `data` is reused: copy it) */
    new (): { parserData(buffer: Buffer): string | null; onPacketCallback: (packet: AVPacket) => void }
  }
  export = Flv
}

declare module 'node-media-server/src/protocol/sps_info.js' {
  /** Picture size from a raw SPS NAL unit (with its NAL header); null when it cannot be parsed. */
  const SpsInfo: {
    parseH264Sps(sps: Buffer): { width: number; height: number } | null
    parseH265Sps(sps: Buffer): { width: number; height: number } | null
  }
  export = SpsInfo
}
