import { resolve } from 'node:path'
import { ConfigError } from '@meshcast/interface'
import { readConfFiles } from './conf-files.ts'
import { deepFreeze } from './deep-freeze.ts'
import { DEFAULTS } from './defaults.ts'
import { defaultDiscovery, resolvePeers } from './discovery.ts'
import { applyDiscoveryOverrides, applyOverrides } from './overrides.ts'
import { publicSelf, readClusterXml } from './parse-cluster-xml.ts'
import { DEFAULT_EDGE_TIMINGS, DEFAULT_SHUTDOWN, readRed5Properties } from './parse-red5-properties.ts'
import { ProblemList } from './problem-list.ts'
import { resolveRole } from './resolve-role.ts'
import { findSelfOrigins, selfAddress } from './self-origin.ts'
import type { ConfigOverrides, NodeConfig } from './types.ts'
import { emptyWebappsReading, resolveWebapps } from './webapps.ts'

/**
 * Reads a Red5-layout conf folder (cluster.xml, optional red5.properties),
 * applies command-line overrides, finds the applications (webapps) and
 * checks everything. Throws one
 * ConfigError listing every problem; returns a deep-frozen NodeConfig.
 */
export function loadConfig(confDir: string, overrides: ConfigOverrides = {}): NodeConfig {
  const dir = resolve(confDir)
  const problems = new ProblemList()
  const files = readConfFiles(dir, problems)
  const { clusterText, propertiesText } = files
  const cluster =
    clusterText === undefined ? undefined : problems.collect(() => readClusterXml(clusterText, files.cluster))
  const properties =
    typeof propertiesText === 'string' ? readRed5Properties(propertiesText, files.properties) : undefined
  problems.addAll(cluster?.problems ?? [])
  problems.addAll(properties?.problems ?? [])
  const listeners = applyOverrides(properties ?? DEFAULTS, overrides, problems)
  const discovery = applyDiscoveryOverrides(properties?.discovery ?? defaultDiscovery(), overrides, problems)
  // port-less peers take the mesh port after overrides: --mesh-port counts
  const peers = resolvePeers(discovery.peers, listeners.mesh.port)
  if (cluster !== undefined) {
    const selves = [
      ...publicSelf(cluster.settings),
      ...selfAddress(listeners.rtmp.host, listeners.rtmp.port, 'rtmp.host:rtmp.port'),
    ]
    problems.addAll(findSelfOrigins(cluster.settings.origins, cluster.originLines, selves, files.cluster))
  }
  const webapps = resolveWebapps(
    properties?.webapps ?? emptyWebappsReading(),
    dir,
    files.properties,
    problems,
  )
  // cluster is only undefined when reading it recorded a problem
  if (cluster === undefined || problems.problems.length > 0) throw new ConfigError(problems.problems)
  return deepFreeze({
    confDir: dir,
    files: { cluster: files.cluster, properties: propertiesText === null ? null : files.properties },
    cluster: cluster.settings,
    role: resolveRole(cluster.settings.nodeType, cluster.settings.origins),
    ...listeners,
    discovery: { mdns: discovery.mdns, peers: peers.peers },
    webapps: webapps.webapps,
    edge: properties?.edge ?? { ...DEFAULT_EDGE_TIMINGS },
    shutdown: properties?.shutdown ?? { ...DEFAULT_SHUTDOWN },
    warnings: [...cluster.warnings, ...(properties?.warnings ?? []), ...peers.warnings, ...webapps.warnings],
  })
}
