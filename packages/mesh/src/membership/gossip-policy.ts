/**
 * Every this many heartbeats to all, one also goes on gossip whatever the
 * situation: a safety net for what the rules below do not foresee. Every
 * fourth beat on gossip was the largest share of the coordinator's CPU while
 * 20 nodes formed a view on 2 cores (gossipsub's forwarding and IDONTWANT
 * messages, measured), and held every join up.
 */
export const GOSSIP_SAFETY_EVERY = 20

/** What decides whether a heartbeat also goes on gossip. */
export interface GossipSituation {
  selfId: string
  /** this node has not joined yet */
  joining: boolean
  /** whether this node coordinates its view */
  coordinator: boolean
  /** peers with a connection to this node */
  connected: ReadonlySet<string>
  /** members this node has heard (itself included or not) */
  heard: readonly string[]
  /** the current view's member ids */
  view: readonly string[]
  /** members whose heartbeats carried a view: coordinators as far as this node knows */
  announcers: readonly string[]
  /** heartbeats to all so far, this one included */
  round: number
}

/**
 * Whether a heartbeat to all also goes on gossip. Heartbeat links reach every
 * connected peer, and a joiner takes the members it has not heard from the
 * coordinator's view, so gossip is needed only where links do not reach:
 * - while joining with no coordinator among this node's peers (its seed is
 *   not the coordinator: the beat must reach the coordinator through it);
 * - when a connected or heard peer is not in the view: a partition in reach
 *   (both sides must hear each other to merge) or an admission under way;
 * - on the coordinator, while a member of its view has no connection to it.
 */
export function gossipNeeded(s: GossipSituation): boolean {
  if (s.connected.size === 0 || s.round % GOSSIP_SAFETY_EVERY === 1) return true
  if (s.joining && !s.announcers.some((id) => s.connected.has(id))) return true
  const inView = new Set(s.view)
  for (const id of s.connected) if (!inView.has(id)) return true
  for (const id of s.heard) if (id !== s.selfId && !inView.has(id)) return true
  return s.coordinator && s.view.some((id) => id !== s.selfId && !s.connected.has(id))
}
