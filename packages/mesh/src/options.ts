import { isWildcard, RETRY_DURATION_MS, type Role } from '@meshcast/interface'
import type { MeshIdentity } from './transport/identity.ts'
import { DEFAULT_INBOUND_LIMITS, type InboundLimits } from './transport/inbound-gate.ts'
import { DEFAULT_HEAL_WINDOW_MS } from './transport/lost-members.ts'
import type { Seed } from './transport/transport.ts'

/** ms between heartbeats. */
export const DEFAULT_HEARTBEAT_INTERVAL = 500
/** ms of silence before a member is suspected (three missed heartbeats). */
export const DEFAULT_SUSPECT_AFTER = 1500
/** ms a member whose connection closed stays suspected (while we redial) before removal. */
export const DEFAULT_CLOSED_GRACE = 300
/** ms a silent member stays suspected (while we probe it) before removal. */
export const DEFAULT_SILENT_GRACE = 1000
/** ms after a member is first heard during which its silence is suspected only after 3 × suspectAfter. */
export const DEFAULT_YOUNG_FOR = 10_000
/**
 * ms a coordinator holds an admission back to admit everyone heard meanwhile
 * in one view (JGroups' view bundling); removals are never held back.
 */
export const DEFAULT_VIEW_BUNDLING = 100
/**
 * ms a view must hold before members open connections to the members they
 * are not yet connected to (the rest of the full mesh); a removal opens them at once.
 */
export const DEFAULT_VIEW_HOLD = 1000
/** ms a starting node waits to hear of an existing cluster before it leads its own. */
export const DEFAULT_JOIN_TIMEOUT = 1000
/** Largest application message, as JSON (bytes). */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024
/** Bytes of messages waiting to be sent before `send` refuses more (BusOverloadError). */
export const DEFAULT_MAX_QUEUED_BYTES = 16 * 1024 * 1024
/** Largest bus batch (bytes): many small messages ride one frame. */
export const DEFAULT_MAX_BATCH_BYTES = 256 * 1024
/** Messages a sender may have out that some member has not delivered yet. */
export const DEFAULT_MAX_IN_FLIGHT = 8192
/** ms between checks for gaps to ask retransmission of. */
export const DEFAULT_NAK_INTERVAL = 100
/** ms an invocation waits for each target's reply. */
export const DEFAULT_INVOKE_TIMEOUT = 5000
/** ms a direct exchange (retransmission, state) may take. */
export const DEFAULT_REQUEST_TIMEOUT = 5000
/** ms a leaving node waits for its last messages to be delivered before it says goodbye. */
export const DEFAULT_LEAVE_TIMEOUT = 2000
/** Largest state transfer (bytes). */
export const DEFAULT_MAX_STATE_BYTES = 16 * 1024 * 1024
/** ms a dial may take. A dial into another cluster hangs until it; shorter (2 s) aborted handshakes with seeds loaded by 20 nodes starting at once (measured). */
export const DEFAULT_DIAL_TIMEOUT = 5000
/** ms between mDNS queries. */
export const DEFAULT_MDNS_INTERVAL = 2000

/** What this node says about itself, besides what the mesh fills in. */
export interface SelfDescription {
  role: Role
  publicIp: string
  publicPort: number
  /** `host:port` of its HTTP listener */
  http: string
  privateInstance: boolean
}

export interface MeshInit {
  /** the cluster password: it is the cluster (private-network key, topic and mDNS names) */
  password: string
  /** mesh listen address */
  host: string
  port: number
  /** the address other members dial (defaults to host, or publicIp when host is a wildcard) */
  announceHost?: string
  self: SelfDescription
  identity?: MeshIdentity
  /** find members with mDNS (default true) */
  mdns?: boolean
  /** addresses to dial until reached (origins at the mesh port, explicit peers) */
  seeds?: readonly Seed[]
  /** ms between attempts at an unreached seed (cluster.xml retryDuration) */
  retryInterval?: number
  heartbeatInterval?: number
  suspectAfter?: number
  closedGrace?: number
  silentGrace?: number
  youngFor?: number
  joinTimeout?: number
  /** ms a coordinator holds admissions back to admit them in one view */
  viewBundling?: number
  /** ms a view must hold before the rest of the full mesh is dialled */
  viewHold?: number
  maxMessageBytes?: number
  maxQueuedBytes?: number
  maxBatchBytes?: number
  maxInFlight?: number
  nakInterval?: number
  invokeTimeout?: number
  requestTimeout?: number
  leaveTimeout?: number
  maxStateBytes?: number
  dialTimeout?: number
  mdnsInterval?: number
  /**
   * ms a member lost without a goodbye stays a discovery target: its last
   * address is dialled with backoff until it answers (red5.properties
   * `mesh.heal_window`; default DEFAULT_HEAL_WINDOW_MS, 0: off)
   */
  healWindow?: number
  /**
   * the timing set the other timings default to: `lan` (default) or `wan`
   * (red5.properties `mesh.profile`; see WAN in options.ts)
   */
  profile?: MeshProfile
  /** what one remote address may hold on the mesh port (red5.properties `mesh.max_connections_per_ip`, `mesh.max_pending_per_ip`) */
  inboundLimits?: InboundLimits
}

/** Every option with its default filled in. */
export type MeshSettings = Required<Omit<MeshInit, 'identity' | 'announceHost'>> & { announceHost: string }

/** Timing sets: `lan` is the defaults above; `wan` is for members whose links cross regions. */
export type MeshProfile = 'lan' | 'wan'

/**
 * What `wan` changes. Links of 50-300 ms with loss hold heartbeats up by
 * TCP retransmissions (200 ms, doubling) for a second and more, so silence
 * is judged over five beats of a second each and a suspect gets two seconds
 * to answer; joins, dials and exchanges get a round trip's worth more time;
 * gaps are asked for after a round trip, not before one could be answered.
 * A SIGKILL is still seen at once (the connection closes).
 */
const WAN: Partial<MeshInit> = {
  heartbeatInterval: 1000,
  suspectAfter: 5000,
  closedGrace: 1000,
  silentGrace: 2000,
  youngFor: 20_000,
  joinTimeout: 3000,
  viewBundling: 300,
  viewHold: 2000,
  nakInterval: 250,
  invokeTimeout: 10_000,
  requestTimeout: 10_000,
  leaveTimeout: 4000,
  dialTimeout: 10_000,
}

export function settings(given: MeshInit): MeshSettings {
  // the profile's values, then whatever is set explicitly
  const init: MeshInit = given.profile === 'wan' ? { ...WAN, ...defined(given) } : given
  return {
    profile: init.profile ?? 'lan',
    password: init.password,
    host: init.host,
    port: init.port,
    announceHost: init.announceHost ?? (isWildcard(init.host) ? init.self.publicIp : init.host),
    self: init.self,
    mdns: init.mdns ?? true,
    seeds: init.seeds ?? [],
    retryInterval: init.retryInterval ?? RETRY_DURATION_MS,
    heartbeatInterval: init.heartbeatInterval ?? DEFAULT_HEARTBEAT_INTERVAL,
    suspectAfter: init.suspectAfter ?? DEFAULT_SUSPECT_AFTER,
    closedGrace: init.closedGrace ?? DEFAULT_CLOSED_GRACE,
    silentGrace: init.silentGrace ?? DEFAULT_SILENT_GRACE,
    youngFor: init.youngFor ?? DEFAULT_YOUNG_FOR,
    joinTimeout: init.joinTimeout ?? DEFAULT_JOIN_TIMEOUT,
    viewBundling: init.viewBundling ?? DEFAULT_VIEW_BUNDLING,
    viewHold: init.viewHold ?? DEFAULT_VIEW_HOLD,
    maxMessageBytes: init.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
    maxQueuedBytes: init.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES,
    maxBatchBytes: init.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES,
    maxInFlight: init.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT,
    nakInterval: init.nakInterval ?? DEFAULT_NAK_INTERVAL,
    invokeTimeout: init.invokeTimeout ?? DEFAULT_INVOKE_TIMEOUT,
    requestTimeout: init.requestTimeout ?? DEFAULT_REQUEST_TIMEOUT,
    leaveTimeout: init.leaveTimeout ?? DEFAULT_LEAVE_TIMEOUT,
    maxStateBytes: init.maxStateBytes ?? DEFAULT_MAX_STATE_BYTES,
    dialTimeout: init.dialTimeout ?? DEFAULT_DIAL_TIMEOUT,
    mdnsInterval: init.mdnsInterval ?? DEFAULT_MDNS_INTERVAL,
    healWindow: init.healWindow ?? DEFAULT_HEAL_WINDOW_MS,
    inboundLimits: init.inboundLimits ?? DEFAULT_INBOUND_LIMITS,
  }
}

/** `init` without the keys whose value is undefined (so they do not hide a profile's). */
function defined(init: MeshInit): MeshInit {
  return Object.fromEntries(Object.entries(init).filter(([, v]) => v !== undefined)) as unknown as MeshInit
}
