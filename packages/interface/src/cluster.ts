import { isEdgeRole, type Role } from './roles.ts'

/** Load figures a member sends with its heartbeat. */
export interface MemberLoad {
  /** subscribers the node serves now */
  subscribers: number
  /** streams published on or pulled by the node now */
  streams: number
}

/** What each member tells the cluster about itself in every heartbeat. */
export interface Member {
  /** the node id: its libp2p peer id */
  id: string
  role: Role
  /** RTMP address clients are sent to (cluster.xml publicIp / publicPort) */
  publicIp: string
  publicPort: number
  /** HTTP address (red5.properties http.host / http.port) */
  http: string
  /** mesh address other members dial (`host:port`) */
  mesh: string
  privateInstance: boolean
  /** ms since the epoch when the node started; fixes its place in the join order */
  startedAt: number
  load: MemberLoad
  /** small values other packages attach to the heartbeat (e.g. stream adverts), by key */
  data: Readonly<Record<string, unknown>>
}

/** The live members in join order; the first is the coordinator. */
export interface View {
  /** `<coordinator id tail>:<counter>`; a new one for every change */
  id: string
  counter: number
  coordinator: string
  members: readonly Member[]
}

/** A `view` event: the new view and who joined and left since the previous one. */
export interface ViewChange {
  view: View
  joined: readonly Member[]
  left: readonly Member[]
  /**
   * true when the change merged partitions (or clusters that formed apart):
   * members that were in other views than this node's are in it now
   */
  merged: boolean
  /**
   * the members that come from the other sides of a merge (empty otherwise):
   * what they did while apart, this node has not seen; pull it from them
   * (`fetchState`) to reconcile
   */
  others: readonly Member[]
}

/** Who a bus message or an invocation is for. */
export type BusTarget =
  | { to: 'all' }
  | { to: 'origins' }
  | { to: 'edges' }
  | { to: 'node'; id: string }
  | { to: 'allBut'; ids: readonly string[] }

/** Whether `target` names the member `id` of `role`. */
export function isAddressed(target: BusTarget, id: string, role: Role): boolean {
  switch (target.to) {
    case 'all':
      return true
    case 'origins':
      return role === 'origin'
    case 'edges':
      return isEdgeRole(role)
    case 'node':
      return target.id === id
    case 'allBut':
      return !target.ids.includes(id)
  }
}

/** A message delivered by the bus. */
export interface BusMessage {
  /** the sending member's id */
  from: string
  /** the application channel it was sent on */
  channel: string
  data: unknown
}

/** One target's answer to an invocation. */
export type InvokeReply =
  | { node: string; ok: true; value: unknown }
  | { node: string; ok: false; error: { name: string; message: string } }

/**
 * Why a target gave no answer, when the invocation itself failed (the
 * handler's own errors keep their names): no reply in time, the member left
 * the view, the mesh stopped, or no handler by that name there.
 */
export type InvokeFailure = 'TimeoutError' | 'MemberLeftError' | 'MeshNotRunningError' | 'NoSuchMethodError'

/** The reply that stands for `node`'s answer when the invocation failed. */
export function failedReply(node: string, name: InvokeFailure, message: string): InvokeReply {
  return { node, ok: false, error: { name, message } }
}

/** RPC handlers registered under one name: `invoke('name.method', args)` calls `handlers.method(args, from)`. */
export type InvokeHandlers = Readonly<Record<string, (args: unknown, from: string) => unknown>>

/** Counters the mesh keeps, for `/api/status` and metrics. */
export interface MeshCounters {
  viewChanges: number
  suspicions: number
  /** members silent past suspectAfter and asked whether alive; those that did not answer are suspicions too */
  silences: number
  busSent: number
  busDelivered: number
  retransmitted: number
  retransmitRequests: number
  gapsLost: number
  /** batches a bus link could not write (recovered by retransmission) */
  linkDrops: number
  dropped: Readonly<Record<string, number>>
}

/** An application's side of state transfer. */
export interface StateHandlers {
  /** the state a joining member should start from (JSON); called on the coordinator */
  provide: () => unknown
  /** takes the coordinator's state; may come again later, after a partition heals */
  receive: (state: unknown) => void
}

/**
 * What applications (`@meshcast/apps`) need of the cluster: the mesh
 * (`@meshcast/mesh`) implements it; `SoloCluster` stands in on a standalone node.
 */
export interface ClusterPort {
  readonly id: string
  readonly view: View
  readonly events: { on(event: 'view', listener: (change: ViewChange) => void): () => void }
  /**
   * Sends JSON data on `channel` to a target: `{to:'all'}`, `{to:'origins'}`,
   * `{to:'edges'}`, `{to:'node', id}` or `{to:'allBut', ids}`. Per-sender
   * FIFO, no loss while both ends are up. `self` (default true) delivers to
   * this node too when the target includes it.
   */
  send(target: BusTarget, channel: string, data: unknown, options?: { self?: boolean }): Promise<void>
  /** Calls `handler.method` on every target member; one reply (or error) each. */
  invoke(
    target: BusTarget,
    method: string,
    args?: unknown,
    options?: { timeout?: number; self?: boolean },
  ): Promise<InvokeReply[]>
  onMessage(channel: string, handler: (message: BusMessage) => void): () => void
  /** Answers `invoke('name.method', args)`: `handlers.method(args, from)`; may return a promise. */
  register(name: string, handlers: InvokeHandlers): () => void
  /** State transfer: a joining member receives what the coordinator's `provide` returns. */
  registerState(name: string, handlers: StateHandlers): () => void
  fetchState(from: string, name: string): Promise<unknown>
}
