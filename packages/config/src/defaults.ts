import { type NodeType, RETRY_DURATION_MS } from '@meshcast/interface'
import { deepFreeze } from './deep-freeze.ts'
import type { ClusterSettings, DiscoverySettings, Listeners } from './types.ts'

/** The cluster file of a Red5 Pro node, inside the conf folder. */
export const CLUSTER_XML = 'cluster.xml'
/** Red5's listener file, inside the conf folder; optional for meshcast. */
export const RED5_PROPERTIES = 'red5.properties'
/** Name (or id) of the Spring bean that holds the cluster settings, as in Red5 Pro. */
export const CLUSTER_BEAN_NAME = 'clusterConfig'

/** Red5 Pro's shipped cluster password; real clusters should change it. */
export const DEFAULT_PASSWORD = 'changeme'
/** Red5 Pro's default publicIp: unset, so the node is not advertised under a specific address. */
export const DEFAULT_PUBLIC_IP = '0.0.0.0'
/** The standard RTMP port: default of publicPort, rtmp.port and of origins entries without a port. */
export const DEFAULT_RTMP_PORT = 1935
/** Red5 Pro's default: false, the node takes part in the subscriber round-robin. */
export const DEFAULT_PRIVATE_INSTANCE = false
/** Red5 Pro's default: seconds an edge waits before retrying an unreachable origin. */
export const DEFAULT_RETRY_DURATION = RETRY_DURATION_MS / 1000
/** Let the origins list decide: empty makes an origin, otherwise an edge. */
export const DEFAULT_NODE_TYPE: NodeType = 'auto'
/** false: subscribers wait for the publisher to come back rather than being dropped. */
export const DEFAULT_KICK_ON_UNPUBLISH = false
/** false: an edge pulls every stream its origins have, not only watched ones. */
export const DEFAULT_STREAM_ON_DEMAND = false

/** Listen on every IPv4 interface, as Red5 ships its listeners. */
export const DEFAULT_HOST = '0.0.0.0'
/** Red5's HTTP port (http.port). */
export const DEFAULT_HTTP_PORT = 5080
/** The libp2p mesh port (mesh.port); every node of a cluster uses the same. */
export const DEFAULT_MESH_PORT = 7800
/** Announce and listen on mDNS (mesh.mdns), so LAN nodes find each other with no addresses configured. */
export const DEFAULT_MDNS = true
/** s a lost member's last address is dialled for (mesh.heal_window), as DEFAULT_HEAL_WINDOW_MS in packages/mesh. */
export const DEFAULT_HEAL_SECONDS = 600

/** What `effectiveConfig` shows in place of the password. */
export const PASSWORD_MASK = '********'

/** Every default in the shape of the loaded settings. */
export const DEFAULTS: Readonly<
  { cluster: Readonly<ClusterSettings>; discovery: Readonly<DiscoverySettings> } & Readonly<Listeners>
> = deepFreeze({
  cluster: {
    origins: [],
    password: DEFAULT_PASSWORD,
    publicIp: DEFAULT_PUBLIC_IP,
    publicPort: DEFAULT_RTMP_PORT,
    privateInstance: DEFAULT_PRIVATE_INSTANCE,
    retryDuration: DEFAULT_RETRY_DURATION,
    nodeType: DEFAULT_NODE_TYPE,
    kickOnUnpublish: DEFAULT_KICK_ON_UNPUBLISH,
    streamOnDemand: DEFAULT_STREAM_ON_DEMAND,
  },
  http: { host: DEFAULT_HOST, port: DEFAULT_HTTP_PORT },
  rtmp: { host: DEFAULT_HOST, port: DEFAULT_RTMP_PORT },
  mesh: { host: DEFAULT_HOST, port: DEFAULT_MESH_PORT },
  discovery: { mdns: DEFAULT_MDNS, peers: [], healSeconds: DEFAULT_HEAL_SECONDS, profile: 'lan' },
})
