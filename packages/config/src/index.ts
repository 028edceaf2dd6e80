export { CLUSTER_PROPERTIES } from './cluster-xml/cluster-settings.ts'
export { parseClusterXml } from './cluster-xml/parse-cluster-xml.ts'
export {
  CLUSTER_BEAN_NAME,
  CLUSTER_XML,
  DEFAULT_HOST,
  DEFAULT_HTTP_PORT,
  DEFAULT_KICK_ON_UNPUBLISH,
  DEFAULT_MDNS,
  DEFAULT_MESH_PORT,
  DEFAULT_NODE_TYPE,
  DEFAULT_PASSWORD,
  DEFAULT_PRIVATE_INSTANCE,
  DEFAULT_PUBLIC_IP,
  DEFAULT_RETRY_DURATION,
  DEFAULT_RTMP_PORT,
  DEFAULT_STREAM_ON_DEMAND,
  DEFAULTS,
  PASSWORD_MASK,
  RED5_PROPERTIES,
} from './defaults.ts'
export { effectiveConfig } from './effective-config.ts'
export { ENV_PREFIX, ENV_VARIABLES, ENVIRONMENT, envName, PASSWORD_FILE_VARIABLE } from './environment.ts'
export { loadConfig } from './load-config.ts'
export { COMMAND_LINE } from './overrides.ts'
export { isWildcardHost, parseHost, parseOriginAddress } from './parse-address.ts'
export { InvalidValueError } from './problems/invalid-value-error.ts'
export {
  AUTH_KEYS,
  DEFAULT_CREDENTIALS_FILE,
  DEFAULT_ROUNDTRIP_TIMEOUT_MS,
  defaultAuth,
} from './red5-properties/auth-settings.ts'
export {
  DEFAULT_EDGE_TIMINGS,
  DEFAULT_HTTP_LIMITS,
  DEFAULT_MESH_LIMITS,
  DEFAULT_RTMP_LIMITS,
  DEFAULT_SHUTDOWN,
  parseRed5Properties,
  RED5_PROPERTY_KEYS,
} from './red5-properties/parse-red5-properties.ts'
export { DEFAULT_CERT_FILE, DEFAULT_KEY_FILE, defaultTls, TLS_KEYS } from './red5-properties/tls-settings.ts'
export { APP_KEY_PREFIX, DEFAULT_WEBAPPS_DIR, WEBAPPS_DIR_KEY } from './red5-properties/webapps.ts'
export type { ClusterXmlOptions } from './render-conf.ts'
export { clusterXml, red5Properties } from './render-conf.ts'
export { resolveRole } from './resolve-role.ts'
export type {
  AdminSettings,
  AuthSettings,
  AuthValidator,
  ClusterSettings,
  ConfigOverrides,
  DiscoverySettings,
  EdgeTimings,
  HttpLimits,
  ListenAddress,
  Listeners,
  MeshLimits,
  NodeConfig,
  OriginAddress,
  OriginCredentials,
  RtmpLimits,
  ShutdownSettings,
  TlsSettings,
  WebappsSettings,
} from './types.ts'
