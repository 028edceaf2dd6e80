import { formatAddress } from '@meshcast/interface'
import { PASSWORD_MASK } from './defaults.ts'
import type { NodeConfig } from './types.ts'

/** A plain, JSON-able view of a loaded config for `meshcast check`: origins and peers as `host:port`, the password masked. */
export function effectiveConfig(config: NodeConfig): Record<string, unknown> {
  const { cluster, discovery } = config
  return {
    confDir: config.confDir,
    files: { ...config.files },
    role: config.role,
    cluster: {
      ...cluster,
      origins: cluster.origins.map((origin) => formatAddress({ host: origin.host, port: origin.port })),
      password: PASSWORD_MASK,
    },
    http: { ...config.http },
    rtmp: { ...config.rtmp },
    mesh: { ...config.mesh },
    discovery: { mdns: discovery.mdns, peers: discovery.peers.map((peer) => formatAddress(peer)) },
    warnings: [...config.warnings],
  }
}
