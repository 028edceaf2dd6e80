import { resolve } from 'node:path'
import { ConfigError } from '@meshcast/interface'
import { publicSelf, readClusterXml } from './cluster-xml/parse-cluster-xml.ts'
import type { RawProperty } from './cluster-xml/read-bean.ts'
import { readConfFiles } from './conf-files.ts'
import { deepFreeze } from './deep-freeze.ts'
import { DEFAULTS } from './defaults.ts'
import { ENVIRONMENT, type EnvSetting, readEnvironment } from './environment.ts'
import { applyDiscoveryOverrides, applyOverrides } from './overrides.ts'
import { ProblemList } from './problems/problem-list.ts'
import { defaultAdminReading, resolveAdmin } from './red5-properties/admin-settings.ts'
import { defaultAuthReading, resolveAuth } from './red5-properties/auth-settings.ts'
import { defaultDiscovery, resolvePeers } from './red5-properties/discovery.ts'
import {
  DEFAULT_EDGE_TIMINGS,
  DEFAULT_HTTP_LIMITS,
  DEFAULT_MESH_LIMITS,
  DEFAULT_RTMP_LIMITS,
  DEFAULT_SHUTDOWN,
  readRed5Properties,
} from './red5-properties/parse-red5-properties.ts'
import { defaultTlsReading, resolveTls } from './red5-properties/tls-settings.ts'
import { emptyWebappsReading, resolveWebapps } from './red5-properties/webapps.ts'
import { resolveRole } from './resolve-role.ts'
import { findSelfOrigins, selfAddress } from './self-origin.ts'
import type { ConfigOverrides, NodeConfig } from './types.ts'

/** A variable's setting as a cluster.xml property, so the same checks read it. */
function asProperty(s: EnvSetting): RawProperty {
  return {
    name: s.name,
    line: undefined,
    text: s.value,
    value: { kind: 'text', text: s.value },
    file: ENVIRONMENT,
    label: s.variable,
  }
}

/**
 * Reads a Red5-layout conf folder (cluster.xml, optional red5.properties),
 * applies `MESHCAST_*` variables from `env` over the files and command-line
 * overrides over both, finds the applications (webapps) and checks
 * everything. Throws one ConfigError listing every problem; returns a
 * deep-frozen NodeConfig. `env` is empty unless given: the CLI passes
 * `process.env`.
 */
export function loadConfig(
  confDir: string,
  overrides: ConfigOverrides = {},
  env: Readonly<Record<string, string | undefined>> = {},
): NodeConfig {
  const dir = resolve(confDir)
  const problems = new ProblemList()
  const files = readConfFiles(dir, problems)
  const environment = readEnvironment(env)
  problems.addAll(environment.problems)
  const { clusterText, propertiesText } = files
  const clusterOver = environment.cluster.map(asProperty)
  const cluster =
    clusterText === undefined
      ? undefined
      : problems.collect(() => readClusterXml(clusterText, files.cluster, clusterOver))
  const propertiesOver = environment.properties.map((s) => ({
    key: s.name,
    value: s.value,
    file: ENVIRONMENT,
    label: s.variable,
  }))
  // with no red5.properties, variables still set its keys over the defaults
  const propertiesSource = propertiesText ?? (propertiesOver.length > 0 ? '' : undefined)
  const properties =
    typeof propertiesSource === 'string'
      ? readRed5Properties(propertiesSource, files.properties, propertiesOver)
      : undefined
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
    // origins set by MESHCAST_ORIGINS are that variable's problem, not the file's
    const fromVariable = environment.cluster.find((s) => s.name === 'origins')
    const file = fromVariable === undefined ? files.cluster : ENVIRONMENT
    const origins = cluster.settings.origins
    problems.addAll(findSelfOrigins(origins, cluster.originLines, selves, file, fromVariable?.variable))
  }
  const webapps = resolveWebapps(
    properties?.webapps ?? emptyWebappsReading(),
    dir,
    files.properties,
    problems,
  )
  const auth = resolveAuth(properties?.auth ?? defaultAuthReading(), dir, problems)
  const tls = resolveTls(properties?.tls ?? defaultTlsReading(), dir, listeners, problems)
  const admin = resolveAdmin(
    properties?.admin ?? defaultAdminReading(),
    [
      { name: 'http', address: listeners.http },
      { name: 'rtmp', address: listeners.rtmp },
      { name: 'mesh', address: listeners.mesh },
      { name: 'https', address: tls.https },
      { name: 'rtmps', address: tls.rtmps },
    ],
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
    discovery: {
      mdns: discovery.mdns,
      peers: peers.peers,
      healSeconds: discovery.healSeconds,
      profile: discovery.profile,
    },
    webapps: webapps.webapps,
    edge: properties?.edge ?? { ...DEFAULT_EDGE_TIMINGS },
    shutdown: properties?.shutdown ?? { ...DEFAULT_SHUTDOWN },
    rtmpLimits: properties?.rtmpLimits ?? { ...DEFAULT_RTMP_LIMITS },
    httpLimits: properties?.httpLimits ?? { ...DEFAULT_HTTP_LIMITS },
    meshLimits: properties?.meshLimits ?? { ...DEFAULT_MESH_LIMITS },
    auth,
    admin,
    tls,
    warnings: [
      ...environment.warnings,
      ...cluster.warnings,
      ...(properties?.warnings ?? []),
      ...peers.warnings,
      ...webapps.warnings,
    ],
  })
}
