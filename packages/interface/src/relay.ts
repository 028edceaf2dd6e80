import { MeshcastError } from './errors.ts'
import type { SafeEmitter } from './events.ts'

/** Why an upstream stopped feeding a relay. */
export type DownReason = 'closed' | 'stalled' | 'unpublished' | 'error'

/**
 * One stream on this node fed from an upstream over RTMP (implemented by
 * `@meshcast/media`, driven by `@meshcast/cluster`'s edge controller). Its
 * players stay attached while the upstream changes.
 */
export interface Relay {
  readonly path: string
  /**
   * Pulls from `url`. Resolves once media flows from it, and only then drops
   * the upstream it replaces; rejects when it cannot be played (a current
   * upstream then keeps feeding). Rejects with RelayClosedError once the
   * relay is closed.
   */
  pull(url: string): Promise<void>
  /** What happens to the upstream feeding the relay. */
  readonly events: SafeEmitter<RelayEvents>
  /** Drops the upstream and the local stream; `kick` also disconnects its players. */
  close(kick: boolean): void
}

export interface RelayEvents {
  /** once per upstream lost while it fed the relay (not for one `pull` replaced) */
  down: { reason: DownReason; detail: string }
  /**
   * the upstream fell silent for a few frame intervals but is not lost yet
   * (a frozen process keeps its socket open): the time to `pull` an
   * alternative, make-before-break. Should the upstream resume before the
   * alternative delivers, that pull rejects with `UpstreamResumedError` and
   * the upstream keeps feeding.
   */
  quiet: { detail: string }
}

/** What the edge controller needs from the media server. */
export interface RelayPort {
  /** A relay for `path` (one per path: the controller never opens two). */
  open(path: string): Relay
  /** Players of `path` on this node. */
  subscribers(path: string): number
  /** Whether `path` is published to this node (then it needs no pull). */
  published(path: string): boolean
  /** Disconnects the players of `path` (a bounded wait ran out). */
  kick(path: string, why: string): void
}

/** A pull begun because the upstream fell quiet was given up: the upstream resumed first. */
export class UpstreamResumedError extends MeshcastError {
  constructor(url: string) {
    super(`pull from ${url}: not needed, the upstream resumed`)
    this.name = 'UpstreamResumedError'
  }
}

/** `pull` was called on a relay already closed (mediasoup's InvalidStateError, for a relay). */
export class RelayClosedError extends MeshcastError {
  readonly path: string
  readonly url: string
  constructor(path: string, url: string) {
    super(`cannot pull ${path} from ${url}: its relay is closed`)
    this.name = 'RelayClosedError'
    this.path = path
    this.url = url
  }
}
