import { readFileSync } from 'node:fs'
import { readCredentials } from '@meshcast/auth'
import { DEFAULT_PASSWORD, type NodeConfig } from '@meshcast/config'
import { ConfigError, formatAddress, isEdgeRole, type Logger, silentLogger } from '@meshcast/interface'
import { TlsCertificate } from './tls-certificate.ts'

/**
 * What a node protects and what it leaves open, in words (`meshcast check`),
 * and the warnings a risky default earns (logged at start, shown on the
 * dashboard). Nothing here changes what the node does.
 */
export interface SecurityPosture {
  mesh: string
  publish: string
  play: string
  rtmp: string
  http: string
  /** how this node's pulls reach their upstreams */
  pulls: string
  /** who provides a stream: what this node's publishes say, and what its pulls keep to */
  ownership: string
  controlPlane: string
}

/** The warnings a configuration earns: the default cluster password, the more so with mDNS on. */
export function securityWarnings(config: NodeConfig): string[] {
  if (config.role === 'standalone' || config.cluster.password !== DEFAULT_PASSWORD) return []
  const warnings = [
    `the cluster password is the default "${DEFAULT_PASSWORD}": anyone who knows it can join this cluster and pull its streams; set password in cluster.xml (or MESHCAST_PASSWORD)`,
  ]
  if (config.discovery.mdns)
    warnings.push(
      `mDNS is on with the default password: any other node left at "${DEFAULT_PASSWORD}" on this LAN joins this cluster without a word (a stranger's edge plays your streams, /cluster hands out their nodes)`,
    )
  return warnings
}

export function securityPosture(config: NodeConfig): SecurityPosture {
  const { auth } = config
  const checker =
    auth.validator === 'file'
      ? `the file validator (${auth.credentials})`
      : `the roundtrip validator (${auth.roundtripUrl})`
  const pulls = isEdgeRole(config.role)
  return {
    mesh:
      config.role === 'standalone'
        ? 'off (standalone)'
        : `encrypted (noise) and private: only nodes with this cluster password connect${config.cluster.password === DEFAULT_PASSWORD ? ' (the default password: anyone may know it)' : ''}`,
    publish: pulls
      ? `refused (this node is ${config.role === 'edge' ? 'an edge' : 'a relay'})`
      : auth.publish
        ? `authenticated by ${checker}`
        : 'open: anyone who reaches the RTMP port may publish any stream',
    play: auth.play
      ? `authenticated by ${checker}; the cluster's own pulls by a token from the cluster password`
      : 'open: anyone who reaches the RTMP or HTTP port may play',
    rtmp:
      config.tls.rtmps === null
        ? 'plain (no RTMPS): credentials and media travel unencrypted'
        : `plain on ${formatAddress(config.rtmp)}, and RTMPS on ${formatAddress(config.tls.rtmps)} (${config.tls.cert})`,
    http:
      config.tls.https === null
        ? 'plain (no HTTPS): FLV players and the chat travel unencrypted'
        : `plain on ${formatAddress(config.http)}, and HTTPS on ${formatAddress(config.tls.https)} (${config.tls.cert})`,
    pulls: !pulls
      ? 'none (this node pulls no streams)'
      : config.tls.upstream
        ? `over RTMPS from upstream members that offer it, their certificate checked against ${config.tls.ca ?? "node's built-in CAs"}; plain RTMP from the others`
        : 'plain RTMP (tls.upstream=false)',
    ownership: ownership(config, pulls),
    controlPlane: controlPlane(config),
  }
}

function controlPlane(config: NodeConfig): string {
  const { token, listener } = config.admin
  const guard =
    token === null ? null : 'protected by http.admin.token (Bearer, or Basic with the token as password)'
  if (listener !== null)
    return `on the admin listener ${formatAddress(listener)} only (/api/* but /api/status, /metrics, the dashboard; the public ports answer 404 for them), ${guard ?? 'open to whoever reaches that address'}`
  return guard === null
    ? 'open: /api/*, /metrics and the dashboard answer anyone who reaches the HTTP port'
    : `${guard}: /api/* but /api/status, /metrics, the dashboard; /cluster, /healthz, /readyz and playback stay public`
}

function ownership(config: NodeConfig, pulls: boolean): string {
  const { auth } = config
  if (pulls)
    return auth.ownerHoldMs === 0
      ? 'not looked at (auth.owner_hold=0): a pull fails over to any copy of the name'
      : `a pull fails over only to copies of the owner it first played; another owner's copy only ${auth.ownerHoldMs / 1000} s after the owner's last copy left (auth.owner_hold)`
  if (!auth.publish)
    return 'none: streams published here own nothing, so any copy of the name may replace them on an edge'
  const groups = auth.groups.length
  return `each publish owned by its user${groups === 0 ? '' : ` or redundancy group (${groups} in auth.group.*)`}`
}

/** The TLS certificate and key loaded as a start would; throws a ConfigError naming the file. */
export function checkTls(config: NodeConfig): void {
  tlsCertificate(config)
  pullCa(config)
}

/** The node's certificate, or null when no TLS listener is on. */
export function tlsCertificate(config: NodeConfig, log: Logger = silentLogger): TlsCertificate | null {
  const { tls } = config
  if (tls.rtmps === null && tls.https === null) return null
  return new TlsCertificate({ cert: tls.cert, key: tls.key }, log)
}

/** The CA bundle RTMPS pulls trust (`tls.ca`), or null for node's built-in CAs; a ConfigError when it cannot be read or holds no certificate. */
export function pullCa(config: NodeConfig): Buffer | null {
  const file = config.tls.ca
  if (file === null) return null
  let pem: Buffer
  try {
    pem = readFileSync(file)
  } catch (err) {
    throw new ConfigError([
      { file, message: `cannot be read as tls.ca: ${(err as NodeJS.ErrnoException).code}` },
    ])
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----'))
    throw new ConfigError([
      { file, message: 'holds no PEM certificate (-----BEGIN CERTIFICATE-----) for tls.ca' },
    ])
  return pem
}

/** The credentials file checked as a start would read it; throws a ConfigError (file and line). */
export function checkCredentials(config: NodeConfig): void {
  const { auth } = config
  if ((auth.publish || auth.play) && auth.validator === 'file') readCredentials(auth.credentials)
}
