import type { NodeConfig } from '@meshcast/config'
import { formatAddress } from '@meshcast/interface'
import type { MeshInit, Seed } from '@meshcast/mesh'
import { announced } from './addresses.ts'
import { durations } from './durations.ts'

/**
 * The mesh's slice of the node's config: the origins (at the mesh port,
 * as every member of a cluster uses the same one) and explicit peers are
 * dialled until reached, every `retryDuration`.
 */
export function meshInit(config: NodeConfig): MeshInit {
  const { cluster, mesh, http, discovery } = config
  const own = `${mesh.host}:${mesh.port}`
  const seeds: Seed[] = []
  const seen = new Set<string>([own])
  for (const s of [...cluster.origins.map((o) => ({ host: o.host, port: mesh.port })), ...discovery.peers]) {
    const key = `${s.host}:${s.port}`
    if (seen.has(key)) continue
    seen.add(key)
    seeds.push({ host: s.host, port: s.port })
  }
  const at = announced(config)
  const times = durations(config)
  return {
    password: cluster.password,
    host: mesh.host,
    port: mesh.port,
    announceHost: at.meshHost,
    self: {
      role: config.role,
      publicIp: cluster.publicIp,
      publicPort: cluster.publicPort,
      http: formatAddress({ host: at.httpHost, port: http.port }),
      privateInstance: cluster.privateInstance,
    },
    mdns: discovery.mdns,
    seeds,
    retryInterval: times.retryMs,
    healWindow: times.healMs,
    profile: discovery.profile,
    inboundLimits: { ...config.meshLimits },
  }
}
