import type { NodeType, Role } from '@meshcast/interface'
import type { OriginAddress } from './types.ts'

/**
 * What the node is: `off` is a standalone node; `auto` is an origin with no
 * origins to pull from and an edge otherwise. An explicit edge with no origins
 * is valid: it finds its origins on the mesh.
 */
export function resolveRole(nodeType: NodeType, origins: readonly OriginAddress[]): Role {
  switch (nodeType) {
    case 'off':
      return 'standalone'
    case 'auto':
      return origins.length === 0 ? 'origin' : 'edge'
    default:
      return nodeType
  }
}
