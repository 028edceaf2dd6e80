export type {
  AccessAction,
  AccessRefusal,
  AccessRequest,
  AccessVerdict,
  Authorize,
  Credentials,
} from './access.ts'
export {
  ALLOW_ALL,
  basicCredentials,
  CREDENTIAL_KEYS,
  credentialsFromQuery,
  hasCredentials,
  mergeCredentials,
} from './access.ts'
export type { HostPort } from './address.ts'
export { formatAddress, formatHost, isWildcard } from './address.ts'
export type { AppSpec } from './apps.ts'
export { appNameProblem, RESERVED_APP_NAMES } from './apps.ts'
export type { BurstLines } from './burst-log.ts'
export { BurstLog } from './burst-log.ts'
export { isBusName, parseMethodName } from './bus-names.ts'
export type {
  BusMessage,
  BusTarget,
  ClusterPort,
  InvokeHandlers,
  InvokeReply,
  Member,
  MemberLoad,
  MeshCounters,
  StateHandlers,
  View,
  ViewChange,
} from './cluster.ts'
export { failedReply, type InvokeFailure, isAddressed } from './cluster.ts'
export type { ConfigProblem } from './errors.ts'
export { ConfigError, formatConfigProblem, ListenError, MeshcastError } from './errors.ts'
export type { Listener } from './events.ts'
export { SafeEmitter } from './events.ts'
export {
  AAC_SEQUENCE_HEADER,
  AVC_SEQUENCE_HEADER,
  EX_CODED_FRAMES,
  EX_CODED_FRAMES_X,
  EX_SEQUENCE_START,
  FILE_HEADER_BYTES,
  FRAME_COMMAND,
  FRAME_INTER,
  FRAME_KEY,
  fourcc,
  HAS_AUDIO,
  HAS_VIDEO,
  isExVideo,
  PREVIOUS_TAG_SIZE_BYTES,
  SOUND_AAC,
  soundFormat,
  TAG_AUDIO,
  TAG_HEADER_BYTES,
  TAG_SCRIPT,
  TAG_TYPE_MASK,
  TAG_VIDEO,
  tagTimestamp,
  VIDEO_CODEC_AVC,
  VIDEO_CODEC_HEVC,
  VIDEO_EX_HEADER,
  videoCodecOrPacketType,
  videoFrameType,
} from './flv.ts'
export { LineIndex } from './line-index.ts'
export type { Logger } from './logger.ts'
export { silentLogger } from './logger.ts'
export { PerAddress, remoteHost } from './per-address.ts'
export type { DownReason, Relay, RelayEvents, RelayPort } from './relay.ts'
export { RelayClosedError, UpstreamResumedError } from './relay.ts'
export type { NodeType, Role } from './roles.ts'
export { isEdgeRole, NODE_TYPES } from './roles.ts'
export type { Startable } from './startable.ts'
export { isStreamName, isStreamPath, MAX_STREAM_NAME } from './stream-path.ts'
export type { StreamAdvert, StreamSource } from './streams.ts'
export { EDGE_STALL_MS, RETRY_DURATION_MS } from './timings.ts'
