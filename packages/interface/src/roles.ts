/** `nodeType` as written in cluster.xml. */
export const NODE_TYPES = ['auto', 'off', 'origin', 'edge', 'relay'] as const
export type NodeType = (typeof NODE_TYPES)[number]

/** What a node actually is once `auto` is resolved; `standalone` is `nodeType` off. */
export type Role = 'origin' | 'edge' | 'relay' | 'standalone'

/**
 * An edge or a relay: it pulls streams from upstreams and serves players
 * (a relay is an edge other edges pull from), and the bus's `edges` target names it.
 */
export function isEdgeRole(role: Role): boolean {
  return role === 'edge' || role === 'relay'
}
