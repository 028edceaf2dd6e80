import type { Member } from '@meshcast/interface'

/** Wire version; a frame with another one is dropped. */
export const WIRE_VERSION = 1

/** Who a bus message is for, as it travels: all, a role, one node, all but some. */
export type WireTarget = ['all'] | ['origins'] | ['edges'] | ['node', string] | ['allBut', string[]]

/** An application message on a channel. */
export interface DataEnvelope {
  s: number
  t: WireTarget
  c: string
  d: unknown
}

/** An invocation of `handler.method`. */
export interface RequestEnvelope {
  s: number
  t: WireTarget
  q: { i: number; m: string; a: unknown }
}

/** The answer to invocation `i`. */
export interface ReplyEnvelope {
  s: number
  t: WireTarget
  p: { i: number; ok: boolean; v?: unknown; e?: { name: string; message: string } }
}

/** One sequenced bus message; `s` numbers the sender's messages from 1 with no holes. */
export type BusEnvelope = DataEnvelope | RequestEnvelope | ReplyEnvelope

/** The view as its coordinator announces it: counter and member ids in join order. */
export interface WireView {
  counter: number
  members: string[]
  /**
   * The members' records as the coordinator knows them: a member adopts the
   * view without waiting to hear each new member itself (at 20 nodes joining
   * at once that wait held views back for seconds).
   */
  records?: Member[]
  /**
   * Present when the view merges partitions: its members grouped by the
   * view each was in before (JGroups' MergeView subgroups). A member that
   * was still joining is in none.
   */
  sides?: string[][]
}

/**
 * Sent by every member every heartbeat interval to each connected peer on its
 * heartbeat link, and on gossip where `gossipNeeded` says; also shortly after
 * a change, and to a peer that just connected.
 */
export interface HeartbeatFrame {
  v: 1
  k: 'hb'
  /** heartbeat number, rising: an older or repeated one is a replay */
  n: number
  member: Member
  /** highest bus sequence number sent so far (0: none) */
  seq: number
  /** per sender: the highest of its sequence numbers delivered here in order */
  acks: Record<string, number>
  /** per member: the first of this node's sequence numbers that member must receive */
  joined: Record<string, number>
  /** present when the sender is the coordinator of its view */
  view?: WireView
  /** the id of the view the sender is in, once it has joined (a merge groups members by it) */
  side?: string
}

/** A member stopping cleanly. */
export interface LeaveFrame {
  v: 1
  k: 'leave'
  from: string
}

/** A batch of bus messages from one sender, in sequence order. */
export interface BusFrame {
  v: 1
  k: 'bus'
  from: string
  msgs: BusEnvelope[]
}

export type TopicFrame = HeartbeatFrame | LeaveFrame | BusFrame

/** Retransmission request: the sender's numbers the receiver is missing. */
export interface NakFrame {
  v: 1
  k: 'nak'
  from: string
  ranges: [number, number][]
}

/** Answer to a NAK: what is still held, and the lowest number still held. */
export interface RetransmitFrame {
  v: 1
  k: 'rtx'
  from: string
  low: number
  msgs: BusEnvelope[]
}

/** Flow-control credit: the receiver has delivered the sender's messages up to `seq`. */
export interface AckFrame {
  v: 1
  k: 'ack'
  from: string
  seq: number
}

/** A joining member asks the coordinator for the applications' state. */
export interface StateRequestFrame {
  v: 1
  k: 'state?'
  from: string
  /** only these states (an application pulling from a member); absent: all of them (a join) */
  names?: string[]
}

/** The applications' state and, per sender, the last message it reflects. */
export interface StateFrame {
  v: 1
  k: 'state'
  from: string
  state: Record<string, unknown>
  digest: Record<string, number>
}

export type DirectFrame = NakFrame | RetransmitFrame | AckFrame | LeaveFrame | StateRequestFrame | StateFrame
