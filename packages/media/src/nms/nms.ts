// The only module that imports node-media-server. Its state is a process-wide
// singleton (core/context.js), which is why meshcast runs one node per process.
import type { IncomingMessage } from 'node:http'
import { createRequire } from 'node:module'
import type { Duplex } from 'node:stream'
import AVPacket from 'node-media-server/src/core/avpacket.js'
import Context from 'node-media-server/src/core/context.js'
import nmsLogger from 'node-media-server/src/core/logger.js'
import AMF from 'node-media-server/src/protocol/amf.js'
import Flv from 'node-media-server/src/protocol/flv.js'
import Rtmp from 'node-media-server/src/protocol/rtmp.js'
import RtmpClient from 'node-media-server/src/protocol/rtmp_client.js'
import SpsInfo from 'node-media-server/src/protocol/sps_info.js'
import BroadcastServer from 'node-media-server/src/server/broadcast_server.js'
import BaseSession from 'node-media-server/src/session/base_session.js'
import FlvSession from 'node-media-server/src/session/flv_session.js'
import RtmpSession from 'node-media-server/src/session/rtmp_session.js'

export {
  AMF,
  AVPacket,
  BaseSession,
  BroadcastServer,
  Context,
  Flv,
  FlvSession,
  nmsLogger,
  Rtmp,
  RtmpClient,
  RtmpSession,
  SpsInfo,
}
export type NmsSession = BaseSession

/** The parts of a `ws` WebSocket the adapter uses. */
export interface NmsWebSocket {
  readonly protocol: string
  readonly readyState: number
  readonly bufferedAmount: number
  send(data: Buffer): void
  close(code?: number, reason?: string): void
  terminate(): void
  on(event: 'message', listener: (data: Buffer) => void): this
  on(event: 'close' | 'open', listener: () => void): this
  on(event: 'error', listener: (err: Error) => void): this
}

export interface NmsWebSocketServer {
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, cb: (ws: NmsWebSocket) => void): void
}

interface WsModule {
  WebSocket: new (url: string, protocols?: string | string[]) => NmsWebSocket
  WebSocketServer: new (options: { noServer: true; maxPayload?: number }) => NmsWebSocketServer
}

/**
 * `ws` exactly as node-media-server resolves it: FlvSession tells WebSocket
 * players from HTTP ones with `res instanceof WebSocket`, so the socket must
 * be an instance of NMS's own copy, whatever other `ws` the workspace holds.
 */
export const nmsWs = createRequire(createRequire(import.meta.url).resolve('node-media-server'))(
  'ws',
) as WsModule
