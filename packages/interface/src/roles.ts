/** `nodeType` as written in cluster.xml. */
export const NODE_TYPES = ['auto', 'off', 'origin', 'edge', 'relay'] as const
export type NodeType = (typeof NODE_TYPES)[number]

/** What a node actually is once `auto` is resolved; `standalone` is `nodeType` off. */
export type Role = 'origin' | 'edge' | 'relay' | 'standalone'
