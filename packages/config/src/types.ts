import type { AppSpec, HostPort, NodeType, Role } from '@meshcast/interface'

/** One `origins` entry of cluster.xml. */
export interface OriginAddress {
  /** IPv4 address, IPv6 address (without brackets) or DNS name */
  host: string
  /** RTMP port; 1935 when the entry names none */
  port: number
  /** the entry as written, surrounding whitespace removed */
  text: string
}

/** The `clusterConfig` bean of cluster.xml, defaults filled in. */
export interface ClusterSettings {
  origins: readonly OriginAddress[]
  password: string
  publicIp: string
  publicPort: number
  privateInstance: boolean
  /** seconds */
  retryDuration: number
  nodeType: NodeType
  kickOnUnpublish: boolean
  streamOnDemand: boolean
}

/** A host and port to listen on (host without brackets). */
export type ListenAddress = HostPort

/** The three listeners of red5.properties. */
export interface Listeners {
  http: ListenAddress
  rtmp: ListenAddress
  mesh: ListenAddress
}

/** How a node finds the rest of its cluster on the mesh. */
export interface DiscoverySettings {
  /** announce and listen on mDNS (red5.properties `mesh.mdns`, default true) */
  mdns: boolean
  /** extra mesh addresses to dial besides the origins (red5.properties `mesh.peers`, default none); port defaults to the node's mesh port */
  peers: readonly HostPort[]
  /** s a member lost without a goodbye stays a discovery target, its last address dialled until it answers (red5.properties `mesh.heal_window`, default 600; 0: off) */
  healSeconds: number
  /** the mesh's timing set (red5.properties `mesh.profile`): `lan` (default) or `wan`, for members whose links cross regions */
  profile: 'lan' | 'wan'
}

/** The applications a node hosts (red5.properties `webapps.dir`, `app.<name>`, `app.<name>.<key>`). */
export interface WebappsSettings {
  /** absolute path of the folder whose sub-folders are applications; null with `webapps.dir=` (none) */
  dir: string | null
  /** every application found or listed, sorted by name; paths absolute */
  apps: readonly AppSpec[]
}

/** How an edge (or relay) runs its pulls (red5.properties `edge.*`, seconds). */
export interface EdgeTimings {
  /** a pull outlives its last player by this much when streams are pulled on demand (`edge.linger`, default 10) */
  lingerSeconds: number
  /** a player asking for a stream nobody publishes waits this long (`edge.wait`, default 30) */
  waitSeconds: number
  /** no media from the upstream for this long means it is lost (`edge.stall`, default 2) */
  stallSeconds: number
}

/** What one RTMP client may do (red5.properties `rtmp.*`, besides the listener). */
export interface RtmpLimits {
  /** seconds a connection has to start publishing or playing before it is closed (`rtmp.setup_timeout`, default 10; 0: no limit) */
  setupSeconds: number
  /** ms a publisher may send nothing before it is closed (`rtmp.max_inactivity`, Red5's name and unit, default 60000; 0: no limit) */
  inactivityMs: number
  /** connections one remote address may hold open (`rtmp.max_connections_per_ip`, default 1000; 0: no limit) */
  connectionsPerIp: number
  /** connections one remote address may hold that neither publish nor play yet (`rtmp.max_pending_per_ip`, default 64; 0: no limit) */
  pendingPerIp: number
  /** chunks per second one connection may send before it is read more slowly (`rtmp.max_chunk_rate`, default 50000; 0: no limit) */
  chunkRate: number
}

/** What one HTTP client may do (red5.properties `http.*`, besides the listener). */
export interface HttpLimits {
  /** connections (WebSockets included) one remote address may hold open (`http.max_connections_per_ip`, default 256; 0: no limit) */
  connectionsPerIp: number
  /**
   * requests per second one remote address may make (`http.max_request_rate`, default 200; 0: no
   * limit): an address may make that many at once, later ones wait their turn (its connections are
   * read no further meanwhile), and one whose turn is over 5 s away is answered 429
   */
  requestRate: number
}

/** What one remote address may hold on the mesh port (red5.properties `mesh.*`). */
export interface MeshLimits {
  /** inbound mesh connections one remote address may hold open (`mesh.max_connections_per_ip`, default 64; 0: no limit) */
  connectionsPerIp: number
  /** of them, still in their private-network handshakes (`mesh.max_pending_per_ip`, default 16; 0: no limit) */
  pendingPerIp: number
}

/** How a node shuts down (red5.properties `shutdown.*`, seconds). */
export interface ShutdownSettings {
  /**
   * on SIGTERM, how long a node that others pull streams from waits for them to switch to
   * another upstream before it leaves (`shutdown.drain`, default 3; 0: leave at once)
   */
  drainSeconds: number
}

/** Everything a node needs, checked and deep-frozen by `loadConfig`. */
/** How a node checks credentials: Red5 Pro's Simple Authentication validators. */
export type AuthValidator = 'file' | 'roundtrip'

/** Who may publish and play here (red5.properties `auth.*`); both off by default. */
export interface AuthSettings {
  /** publishers must give credentials (`auth.publish`) */
  publish: boolean
  /** players must give credentials (`auth.play`); the cluster's own pulls always may */
  play: boolean
  validator: AuthValidator
  /** absolute path of the `username=password` file the `file` validator reads (`auth.credentials`) */
  credentials: string
  /** the operator's endpoint the `roundtrip` validator asks (`auth.roundtrip.url`) */
  roundtripUrl: string | null
  /** ms it has to answer (`auth.roundtrip.timeout`) */
  roundtripTimeoutMs: number
  /** what this node's pulls send an upstream at that address (`auth.origin.<host[:port]>.*`), instead of the cluster's token */
  origins: readonly OriginCredentials[]
  /** redundancy groups (`auth.group.<name>=user1,user2`): their users' publishes of one name are one stream */
  groups: readonly PublishGroupSettings[]
  /** ms an edge's pull keeps to its stream's owner after the owner's last copy left (`auth.owner_hold`, s; 0: owners not looked at) */
  ownerHoldMs: number
}

/** One `auth.group.<name>`. */
export interface PublishGroupSettings {
  name: string
  users: readonly string[]
}

/** Credentials for pulls from one origin (a foreign one, typically), by its address. */
export interface OriginCredentials {
  host: string
  port: number
  username?: string
  password?: string
  token?: string
}

/** The encrypted listeners and their certificate (red5.properties `rtmps.*`, `https.*`, `tls.*`). */
export interface TlsSettings {
  /** RTMPS (`rtmps.host`, default rtmp.host; `rtmps.port`, default 0: off) */
  rtmps: ListenAddress | null
  /** HTTPS for everything on the HTTP side: API, players, applications (`https.host`, `https.port`; default off) */
  https: ListenAddress | null
  /** absolute path of the PEM certificate chain (`tls.cert`, default conf/tls.crt), reread when it changes or on SIGHUP */
  cert: string
  /** absolute path of its PEM private key (`tls.key`, default conf/tls.key) */
  key: string
  /** PEM bundle pulls verify an upstream's RTMPS certificate against (`tls.ca`); null: node's built-in roots */
  ca: string | null
  /** pull over RTMPS from an upstream member that offers it (`tls.upstream`, default true) */
  upstream: boolean
}

/** The control plane (red5.properties `http.admin.token`). */
export interface AdminSettings {
  /** what `/api/*` (but `/api/status`), `/metrics` and the dashboard ask for; null: open */
  token: string | null
  /**
   * the control plane's own listener (`admin.host`, default 127.0.0.1; `admin.port`, default 0:
   * off). When on, the control plane is served there only, and the HTTP port serves the rest.
   */
  listener: ListenAddress | null
}

export interface NodeConfig {
  /** absolute path of the conf folder */
  confDir: string
  /** absolute paths; `properties` is null when red5.properties is absent */
  files: { cluster: string; properties: string | null }
  cluster: ClusterSettings
  role: Role
  http: ListenAddress
  rtmp: ListenAddress
  mesh: ListenAddress
  discovery: DiscoverySettings
  webapps: WebappsSettings
  edge: EdgeTimings
  shutdown: ShutdownSettings
  rtmpLimits: RtmpLimits
  httpLimits: HttpLimits
  meshLimits: MeshLimits
  auth: AuthSettings
  admin: AdminSettings
  tls: TlsSettings
  /** things worth telling the user that do not stop the node */
  warnings: readonly string[]
}

/** Command-line values, as typed; checked like the files. */
export interface ConfigOverrides {
  /** host for all three listeners (http, rtmp, mesh) */
  host?: string
  httpPort?: string
  rtmpPort?: string
  meshPort?: string
  /** `--no-mdns` gives false; absent keeps `mesh.mdns` */
  mdns?: boolean
  /** `--peer` values, one address each; when given (even empty), they replace `mesh.peers` */
  peers?: readonly string[]
}
