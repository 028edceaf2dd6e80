export { main } from './cli.ts'
export { Daemon } from './daemon.ts'
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
