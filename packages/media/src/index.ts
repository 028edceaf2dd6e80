export { audioCodecName, videoCodecName } from './flv/codec-names.ts'
export type { MediaComponents, MediaEvents, MediaInit, StreamInfo, StreamState } from './media-server.ts'
export {
  DEFAULT_MAX_PLAYER_BACKLOG_BYTES,
  DEFAULT_PULL_TIMEOUT_MS,
  DEFAULT_REFUSE_PUBLISH_TEXT,
  DEFAULT_STALL_MS,
  MediaServer,
  MediaSingletonError,
} from './media-server.ts'
export { isStandIn, PULL_PROTOCOL } from './pull/feed.ts'
export { type PullCredentials, PullError, type PullFailureReason } from './pull/pull-client.ts'
export type { Anchor, AnchorKind, RebaserOptions, RebaserPacket } from './pull/rebaser.ts'
export { Rebaser } from './pull/rebaser.ts'
export type { DownReason, Relay, RelayPort } from './pull/relay-types.ts'
export { RelayOpenError } from './pull/relays.ts'
export { PLAY_REFUSED, PUBLISH_BAD_NAME, PUBLISH_REFUSED } from './rtmp/rtmp-accept.ts'
export type { BoundKind, RtmpBounds } from './rtmp/rtmp-bounds.ts'
export { DEFAULT_RTMP_BOUNDS, RtmpBoundError } from './rtmp/rtmp-bounds.ts'
export { closeServer, listenTcp } from './rtmp/rtmp-listener.ts'
export type { FlvPath } from './stream-path.ts'
export { parseFlvUrl } from './stream-path.ts'
export type { StreamSession } from './stream-session.ts'
export type { StreamTraffic } from './traffic.ts'
