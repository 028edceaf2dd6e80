import type { NodeConfig } from '@meshcast/config'
import { isWildcard } from '@meshcast/interface'

/** Where others reach this node, per listener: decided here once, from the config. */
export interface Announced {
  /** RTMP (adverts' URLs, `/cluster`): `0.0.0.0` when every setting is a wildcard */
  rtmpHost: string
  /** HTTP (the member record's `http`) */
  httpHost: string
  /** the mesh (what this node tells others to dial it at) */
  meshHost: string
}

/** The first of `hosts` that is not a wildcard, else the last. */
function firstSpecific(...hosts: string[]): string {
  return hosts.find((h) => !isWildcard(h)) ?? (hosts.at(-1) as string)
}

/**
 * A listener's own host when it names one; else cluster.xml `publicIp`
 * (Red5's "the address others use"). RTMP goes the other way round:
 * `publicIp` first, as Red5 Pro announces it, then the RTMP or mesh
 * listener's host; with every setting a wildcard (a zero-config LAN) it
 * stays `0.0.0.0`, and others use the address their mesh connection to this
 * node comes from.
 */
export function announced(config: NodeConfig): Announced {
  const { cluster, rtmp, http, mesh } = config
  return {
    rtmpHost: firstSpecific(cluster.publicIp, rtmp.host, mesh.host, '0.0.0.0'),
    httpHost: firstSpecific(http.host, cluster.publicIp),
    meshHost: firstSpecific(mesh.host, cluster.publicIp),
  }
}
