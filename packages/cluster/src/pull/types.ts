import type { DownReason, HostPort, Member } from '@meshcast/interface'
import type { Carrier } from '../stream-book.ts'
import type { Candidate, OriginEntry } from '../upstream.ts'

// The pull state machine's vocabulary: its settings, what it sees, its states, the events it
// takes and the effects it asks for. The transitions are in machine.ts.

/** What stays fixed for every pull of one controller. */
export interface PullSettings {
  selfId: string
  /** true: pull only while someone watches; false: repeat every advertised stream at once */
  streamOnDemand: boolean
  /** ms a pull outlives its last player (and an unwatched pull with no upstream outlives its upstream) */
  lingerMs: number
  /** ms a player may wait for a stream nobody publishes yet before it is let go */
  waitMs: number
  /** ms between attempts when no upstream has the stream (cluster.xml retryDuration) */
  retryMs: number
  /** ms to the first re-pull after a live upstream was lost (doubling up to retryMs); default REPULL_FIRST_MS */
  repullFirstMs?: number
  /** end the players when the stream ends with no alternative (cluster.xml kickOnUnpublish) */
  kickOnUnpublish: boolean
  /** ms a pull keeps to its owner's copies after the last one left; 0: owners are not looked at */
  ownerHoldMs: number
  /** the URL to pull a carrier's stream from (default: its advert's); e.g. to fill in a wildcard host */
  urlOf?: (carrier: Carrier) => string
}

/** What the pull sees of the world at the moment of an event (read by the controller, never kept). */
export interface World {
  /** nodes advertising the stream as an upstream */
  readonly upstreams: readonly Carrier[]
  /** every member the stream book knows */
  readonly members: readonly Member[]
  /** `origins` with the addresses their names resolved to last */
  readonly origins: readonly OriginEntry[]
  /** `origins` entries known to have no meshcast node, and no member of the view behind them */
  readonly foreign: readonly HostPort[]
  /** players of the stream on this node */
  readonly subscribers: number
  /** ms since the epoch */
  readonly now: number
}

/** One try of one upstream. */
export interface Attempt {
  /** tells this attempt's result from a stale one */
  readonly id: number
  readonly target: Candidate
  readonly url: string
  /** why the pull began trying (for the log) */
  readonly why: string
  /** the upstreams this round of tries has had, best first */
  readonly tried: readonly string[]
  /** an upstream left out of this round (the quiet one it replaces) */
  readonly skip: string | null
  /** an upstream advertised the stream meanwhile: weigh it when the round ends */
  readonly recheck: boolean
}

/** Where the pull is. `lostFrom`: the upstream lost, or being replaced, and not replaced yet (a success from another one is a failover). */
export type Phase =
  /** no upstream and nothing under way: waiting for an advert, a foreign origin or the retry timer */
  | { readonly kind: 'waiting'; readonly lostFrom: string | null }
  /** no upstream; trying the candidates best first */
  | { readonly kind: 'trying'; readonly attempt: Attempt; readonly lostFrom: string | null }
  /** an upstream feeds */
  | { readonly kind: 'live'; readonly upstream: Candidate }
  /** an upstream feeds while another is tried (an upgrade; a quiet or withdrawn upstream): make before break */
  | {
      readonly kind: 'switching'
      readonly upstream: Candidate
      readonly attempt: Attempt
      readonly lostFrom: string | null
    }
  /** ended: the relay is closed, nothing more happens */
  | { readonly kind: 'closed' }

export type TimerName = 'retry' | 'linger' | 'wait'

export interface PullState {
  readonly path: string
  readonly phase: Phase
  /** upstreams (member or foreign ids) that failed since the last success: tried last */
  readonly avoid: readonly string[]
  /** ms since the epoch of the first media from the current upstream; 0 until the first */
  readonly since: number
  /** re-pulls since a live upstream was lost and not replaced; -1 when none was (retries wait retryMs) */
  readonly repulls: number
  /** whose copies this pull takes (the first owned copy it played); null: anyone's */
  readonly owner: string | null
  /** when the owner was first seen with no copy left; null while it has one */
  readonly ownerGone: number | null
  /** nodes whose copy of another owner was reported, so that each is reported once */
  readonly ignored: readonly string[]
  /** the timers armed */
  readonly timers: Readonly<Record<TimerName, boolean>>
  /** attempts made, for their ids */
  readonly attempts: number
}

export type PullEvent =
  /** the pull was opened (its relay exists): the first round of tries */
  | { type: 'open' }
  | { type: 'play' }
  | { type: 'leave' }
  /** `node` advertised the stream as an upstream */
  | { type: 'advertised'; node: string }
  | { type: 'withdrawn'; node: string }
  /** an `origins` entry was newly found foreign */
  | { type: 'foreign' }
  /** what `origins` names resolve to changed */
  | { type: 'origins' }
  /** the upstream feeding the relay was lost */
  | { type: 'down'; reason: DownReason; detail: string }
  /** the upstream fell silent but may resume */
  | { type: 'quiet'; detail: string }
  /** attempt `attempt` delivers media */
  | { type: 'pulled'; attempt: number }
  | { type: 'failed'; attempt: number; error: string }
  /** attempt `attempt` was given up: the quiet upstream resumed first */
  | { type: 'resumed'; attempt: number; error: string }
  | { type: 'timer'; name: TimerName }
  | { type: 'stop' }

export type Counter = 'started' | 'failed' | 'failovers' | 'ignoredCopies'

export type Effect =
  | { type: 'pull'; attempt: number; url: string }
  | { type: 'arm'; timer: TimerName; ms: number }
  | { type: 'disarm'; timer: TimerName }
  | { type: 'kick'; why: string }
  | { type: 'close'; kick: boolean }
  /** the pulls changed (started, switched, lost an upstream, ended) */
  | { type: 'changed' }
  | { type: 'count'; counter: Counter }
  | { type: 'log'; level: 'info' | 'warn'; message: string; fields: Record<string, unknown> }

export interface Step {
  state: PullState
  effects: Effect[]
}
