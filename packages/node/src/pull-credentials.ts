import { CLUSTER_USER, type ClusterTokens } from '@meshcast/auth'
import type { NodeConfig } from '@meshcast/config'
import type { Credentials } from '@meshcast/interface'
import type { PullCredentials } from '@meshcast/media'

/**
 * What this node's pulls send their upstream: the credentials configured for
 * that origin's address (`auth.origin.<name>.*`: a foreign origin with its own
 * checks), else `cluster-restreamer` with a token for the stream, never the
 * password that keys the mesh.
 */
export function pullCredentials(config: NodeConfig, tokens: ClusterTokens): PullCredentials {
  const byAddress = new Map(config.auth.origins.map((o) => [key(o.host, o.port), o]))
  return (path, url) => {
    const configured = byAddress.get(addressOf(url))
    if (configured !== undefined) {
      const { host: _host, port: _port, ...credentials } = configured
      return credentials as Credentials
    }
    const [, app = '', name = ''] = path.split('/')
    return { username: CLUSTER_USER, token: tokens.mint(app, name) }
  }
}

function key(host: string, port: number): string {
  return `${host.toLowerCase()}|${port}`
}

/** `rtmp://host:port/…` → the key of its address (brackets of an IPv6 host dropped; 1935 when no port). */
function addressOf(url: string): string {
  try {
    const u = new URL(url)
    return key(u.hostname.replace(/^\[(.*)\]$/, '$1'), u.port === '' ? 1935 : Number(u.port))
  } catch {
    return ''
  }
}
