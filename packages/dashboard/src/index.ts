export { busRates, diffSnapshots, type EndedPulls, foreignOrigin, forgetEnded, shortId } from './diff.ts'
export {
  CHANGE_DEBOUNCE_MS,
  DashboardFeed,
  DEFAULT_EVENT_LOG,
  DEFAULT_TICK_MS,
  type FeedInit,
  type FeedUpdate,
} from './feed.ts'
export { ASSETS_PATH, DEFAULT_MAX_PAGES, dashboardRouter, PUBLIC_DIR, type RouterInit } from './router.ts'
export type {
  BusRates,
  DashboardBus,
  DashboardCarrier,
  DashboardEvent,
  DashboardMember,
  DashboardSnapshot,
  DashboardSource,
  DashboardStream,
} from './types.ts'
