export type { MediaComponents, MediaEvents, MediaInit, StreamInfo } from './media-server.ts'
export { MediaServer, MediaSingletonError, mediaServer } from './media-server.ts'
export { closeServer, listenTcp } from './rtmp-listener.ts'
export type { StreamSession } from './stream-session.ts'
