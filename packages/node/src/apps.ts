import { AppHost, SoloCluster } from '@meshcast/apps'
import type { NodeConfig } from '@meshcast/config'
import type { Logger, Member } from '@meshcast/interface'
import type { Mesh } from '@meshcast/mesh'
import { meshInit } from './mesh-init.ts'

/**
 * The node's application host. Apps get the mesh as their cluster; on a
 * standalone node (no mesh) a cluster of this node alone, so the same apps
 * run unchanged.
 */
export function createAppHost(config: NodeConfig, id: string, mesh: Mesh | null, logger: Logger): AppHost {
  const cluster = mesh ?? new SoloCluster(soloMember(config, id))
  return new AppHost(
    { apps: config.webapps.apps, role: config.role, clustered: mesh !== null },
    { logger, cluster },
  )
}

/** This node as the only member of its cluster: what the mesh would announce, had it one. */
function soloMember(config: NodeConfig, id: string): Member {
  return {
    id,
    ...meshInit(config).self,
    mesh: '',
    startedAt: Date.now(),
    load: { subscribers: 0, streams: 0 },
    data: {},
  }
}
