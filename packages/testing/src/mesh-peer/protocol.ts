import type { BusTarget, MeshCounters } from '@meshcast/interface'

/** How the parent sets up a mesh peer (JSON on its command line). */
export interface PeerSetup {
  /** passed to `new Mesh` (functions cannot cross; the identity is made in the child) */
  mesh: Record<string, unknown>
  /** a value the peer's state provider includes, to check state transfer */
  note?: string
  /** no log kept (benchmarks) */
  quiet?: boolean
}

export type PeerCommand =
  | { op: 'report' }
  | { op: 'send'; to: BusTarget; count: number; size?: number; rate?: number; stamp?: boolean }
  | { op: 'invoke'; to: BusTarget; method: string; args?: unknown; timeout?: number }
  | { op: 'latencies' }
  | { op: 'tryLarge'; bytes: number }
  | { op: 'stop' }

export interface Received {
  /** index of the first message received */
  first: number
  count: number
  last: number
  outOfOrder: number
  duplicates: number
}

export interface PeerReport {
  id: string
  state: string
  view: { id: string; coordinator: string; members: string[] }
  received: Record<string, Received>
  gaps: { from: string; lost: number }[]
  views: string[]
  stateReceived: unknown
  counters: MeshCounters
  rss: number
  log: string[]
}
