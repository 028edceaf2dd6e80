export type { AppHostComponents, AppHostInit } from './app-host.ts'
export {
  AppHost,
  DEFAULT_START_TIMEOUT_MS,
  DEFAULT_STOP_TIMEOUT_MS,
  DEFAULT_WS_PING_INTERVAL_MS,
} from './app-host.ts'
export { DEFAULT_MAX_PAYLOAD } from './app-sockets.ts'
export { AppArgumentError, AppLoadError, AppNotRunningError, AppTimeoutError } from './errors.ts'
export { ENTRY_CANDIDATES } from './load-application.ts'
export { SoloCluster } from './solo-cluster.ts'
export type {
  AppContext,
  AppInfo,
  Application,
  AppSocket,
  AppState,
  ClusterHandle,
  ClusterPort,
  StateHandlers,
  WebSocketOptions,
} from './types.ts'
export { catchApplicationErrors } from './uncaught.ts'
