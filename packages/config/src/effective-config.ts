import { formatAddress } from '@meshcast/interface'
import { PASSWORD_MASK } from './defaults.ts'
import type { NodeConfig } from './types.ts'

/** A plain, JSON-able view of a loaded config for `meshcast check`: origins and peers as `host:port`, the password masked. */
export function effectiveConfig(config: NodeConfig): Record<string, unknown> {
  const { cluster, discovery, webapps } = config
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
    discovery: {
      mdns: discovery.mdns,
      peers: discovery.peers.map((peer) => formatAddress(peer)),
      healSeconds: discovery.healSeconds,
      profile: discovery.profile,
    },
    // `name=path` and `name.key=value`: one line each in `meshcast check`'s text
    webapps: {
      dir: webapps.dir,
      apps: webapps.apps.map((app) => `${app.name}=${app.path}`),
      settings: webapps.apps.flatMap((app) =>
        Object.entries(app.settings).map(([key, value]) => `${app.name}.${key}=${value}`),
      ),
    },
    edge: { ...config.edge },
    shutdown: { ...config.shutdown },
    rtmpLimits: { ...config.rtmpLimits },
    httpLimits: { ...config.httpLimits },
    meshLimits: { ...config.meshLimits },
    // which origins have credentials, never what they are
    auth: { ...config.auth, origins: config.auth.origins.map((o) => formatAddress(o)) },
    admin: {
      token: config.admin.token === null ? null : PASSWORD_MASK,
      listener: config.admin.listener === null ? null : formatAddress(config.admin.listener),
    },
    tls: {
      ...config.tls,
      rtmps: config.tls.rtmps === null ? null : formatAddress(config.tls.rtmps),
      https: config.tls.https === null ? null : formatAddress(config.tls.https),
    },
    warnings: [...config.warnings],
  }
}
