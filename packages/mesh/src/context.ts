import type { Logger } from '@meshcast/interface'
import type { BusReceiver } from './bus/receiver.ts'
import type { BusSender } from './bus/sender.ts'
import type { Clock } from './clock.ts'
import type { DropLog } from './drop-log.ts'
import type { MemberTable } from './membership/member-table.ts'
import type { ViewKeeper } from './membership/view-keeper.ts'
import type { MeshSettings } from './options.ts'
import type { Connector } from './transport/connector.ts'
import type { LostMembers } from './transport/lost-members.ts'
import type { MeshTransport } from './transport/transport.ts'

export type MeshState = 'idle' | 'joining' | 'joined' | 'leaving' | 'stopped'

/** What `counters()` adds up, besides the bus's own figures. */
export interface MeshTallies {
  viewChanges: number
  suspicions: number
  silences: number
  retransmitted: number
  retransmitRequests: number
  gapsLost: number
}

/**
 * What the parts of one mesh share, as JGroups' protocols share a channel:
 * the settings, the clock and the transport, the member table and view
 * keeper (membership's pure cores), the bus's sender and receiver, and the
 * mesh's phase. Each part keeps its own state to itself; `Mesh` builds this
 * and wires the parts together.
 */
export interface MeshContext {
  readonly id: string
  readonly s: MeshSettings
  readonly log: Logger
  readonly clock: Clock
  readonly transport: MeshTransport
  readonly drops: DropLog
  readonly table: MemberTable
  readonly keeper: ViewKeeper
  readonly sender: BusSender
  readonly receiver: BusReceiver
  readonly tallies: MeshTallies
  /** largest frame on any path */
  readonly maxFrame: number
  phase(): MeshState
  /** whether the transport runs: nothing is sent before or after */
  up(): boolean
  /** present while the transport runs */
  connector(): Connector | null
  lostMembers(): LostMembers | null
}
