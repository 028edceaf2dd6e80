export {
  ADVERTS_KEY,
  MAX_ADVERTS,
  MAX_VIA,
  MAX_VIA_ID,
  type ParsedAdverts,
  parseAdverts,
} from './adverts.ts'
export { REPULL_FIRST_MS, repullDelay } from './backoff.ts'
export { awaitDrain, type DrainResult, pullingFrom } from './drain.ts'
export { DRAINING_KEY, isDraining } from './draining.ts'
export {
  EdgeController,
  type EdgeCounters,
  type EdgeEvents,
  type EdgeSettings,
  type PullInfo,
} from './edge-controller.ts'
export { fitsVia, foreignId, foreignUrl, isForeignId } from './foreign.ts'
export type { DownReason, Relay, RelayPort } from './relay-port.ts'
export { normaliseStreamParam, RoundRobin, type Route, type RouteResult } from './round-robin.ts'
export { RTMPS_KEY, rtmpsPort, rtmpsUrl } from './rtmps.ts'
export { type Carrier, isUpstream, StreamBook, type StreamBookEvents } from './stream-book.ts'
export {
  type Candidate,
  memberIndex,
  type OriginEntry,
  originsIndex,
  rankCandidates,
  rankUpstreams,
} from './upstream.ts'
