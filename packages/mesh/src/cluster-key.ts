import { createHash, scryptSync } from 'node:crypto'

/** Everything a node derives from its cluster password. */
export interface ClusterKey {
  /** the libp2p private-network key file (`/key/swarm/psk/1.0.0/`), as bytes */
  psk: Uint8Array
  /** short tag scoping topic names, protocol ids and the mDNS service name */
  tag: string
}

/** Fixed salt: the password alone names the cluster, so every member must derive the same key. */
const SALT = 'meshcast-pnet-v1'

const derived = new Map<string, ClusterKey>()

/**
 * Derives the private-network key and the cluster tag from the password.
 * scrypt (~30 ms, once at start) so a captured handshake does not make the
 * password cheap to guess.
 */
export function clusterKey(password: string): ClusterKey {
  // once per password and process: the simulator starts thousands of meshes
  const known = derived.get(password)
  if (known !== undefined) return known
  const key = scryptSync(password, SALT, 32, { N: 16384, r: 8, p: 1 })
  const psk = new TextEncoder().encode(`/key/swarm/psk/1.0.0/\n/base16/\n${key.toString('hex')}`)
  // The tag is public (mDNS names, topic names): a hash of the key, never of the bare password.
  const tag = createHash('sha256').update(key).update('tag').digest('hex').slice(0, 12)
  const result = { psk, tag }
  if (derived.size >= 16) derived.clear()
  derived.set(password, result)
  return result
}

/** Names every cluster-scoped libp2p resource uses. */
export function clusterNames(tag: string) {
  return {
    heartbeatTopic: `/meshcast/${tag}/hb/1`,
    busProtocol: `/meshcast/${tag}/bus/1.0.0`,
    heartbeatProtocol: `/meshcast/${tag}/hb/1.0.0`,
    directProtocol: `/meshcast/${tag}/direct/1.0.0`,
    mdnsService: `_mc-${tag}._udp.local`,
  } as const
}
