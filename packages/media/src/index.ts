export { audioCodecName, videoCodecName } from './codec-names.ts'
export { isStandIn, PULL_PROTOCOL } from './feed.ts'
export type { MediaComponents, MediaEvents, MediaInit, StreamInfo, StreamState } from './media-server.ts'
export {
  DEFAULT_MAX_PLAYER_BACKLOG_BYTES,
  DEFAULT_PULL_TIMEOUT_MS,
  DEFAULT_REFUSE_PUBLISH_TEXT,
  DEFAULT_STALL_MS,
  MediaServer,
  MediaSingletonError,
} from './media-server.ts'
export { type PullCredentials, PullError, type PullFailureReason } from './pull-client.ts'
export type { Anchor, AnchorKind, RebaserOptions, RebaserPacket } from './rebaser.ts'
export { Rebaser } from './rebaser.ts'
export type { DownReason, Relay, RelayPort } from './relay-types.ts'
export { RelayOpenError } from './relays.ts'
export { PLAY_REFUSED, PUBLISH_BAD_NAME, PUBLISH_REFUSED } from './rtmp-accept.ts'
export type { BoundKind, RtmpBounds } from './rtmp-bounds.ts'
export { DEFAULT_RTMP_BOUNDS, RtmpBoundError } from './rtmp-bounds.ts'
export { closeServer, listenTcp } from './rtmp-listener.ts'
export type { FlvPath } from './stream-path.ts'
export { parseFlvUrl } from './stream-path.ts'
export type { StreamSession } from './stream-session.ts'
export type { StreamTraffic } from './traffic.ts'
