// The application API, for cluster apps (examples/chat): types only, apps get everything through their context.
export type {
  AppContext,
  AppInfo,
  Application,
  AppSocket,
  ClusterHandle,
  StateHandlers,
  WebSocketOptions,
} from '@meshcast/apps'
export type {
  BusMessage,
  BusTarget,
  InvokeReply,
  Logger,
  Member,
  View,
  ViewChange,
} from '@meshcast/interface'
export { main } from './cli.ts'
export { Daemon, DaemonStoppedError } from './daemon.ts'
export type { TestPatternOptions } from './ffmpeg.ts'
export {
  DEFAULT_TEST_FPS,
  FfmpegMissingError,
  ffmpegPath,
  spawnFfmpeg,
  startTestPublisher,
  testPatternArgs,
} from './ffmpeg.ts'
export type { LogFormat, LoggingOptions, LogLevel } from './logging.ts'
export { createLogger } from './logging.ts'
export type { NodeStatus } from './status.ts'
export { VERSION } from './version.ts'
