import type { ConfigProblem } from '@meshcast/interface'
import { EDGE_STALL_MS, LineIndex } from '@meshcast/interface'
import { Pair, parseLines } from 'dot-properties'
import { DEFAULTS } from '../defaults.ts'
import { parseHost } from '../parse-address.ts'
import {
  parseAdminToken,
  parseBoolean,
  parseMeshProfile,
  parsePort,
  parseSeconds,
  parseWhole,
} from '../parse-values.ts'
import { didYouMean } from '../problems/closest-name.ts'
import { ProblemList, type ProblemPlace } from '../problems/problem-list.ts'
import { where } from '../problems/where.ts'
import type {
  DiscoverySettings,
  EdgeTimings,
  HttpLimits,
  ListenAddress,
  Listeners,
  MeshLimits,
  RtmpLimits,
  ShutdownSettings,
} from '../types.ts'
import {
  ADMIN_LISTENER_KEYS,
  type AdminReading,
  defaultAdminReading,
  isAdminListenerKey,
  readAdminListenerKey,
} from './admin-settings.ts'
import { AUTH_KEYS, type AuthReading, defaultAuthReading, isAuthKey, readAuthKey } from './auth-settings.ts'
import {
  type DiscoveryReading,
  defaultDiscovery,
  PEERS_KEY,
  readPeerList,
  resolvePeers,
} from './discovery.ts'
import { defaultTlsReading, isTlsKey, readTlsKey, TLS_KEYS, type TlsReading } from './tls-settings.ts'
import {
  emptyWebappsReading,
  isWebappsKey,
  readWebappsKey,
  WEBAPPS_DIR_KEY,
  type WebappsReading,
} from './webapps.ts'

/** The listener keys, and which listener field each sets. */
const LISTENER_KEYS = new Map<string, [keyof Listeners, keyof ListenAddress]>([
  ['http.host', ['http', 'host']],
  ['http.port', ['http', 'port']],
  ['rtmp.host', ['rtmp', 'host']],
  ['rtmp.port', ['rtmp', 'port']],
  ['mesh.host', ['mesh', 'host']],
  ['mesh.port', ['mesh', 'port']],
])

/** Whether the node announces and listens on mDNS. */
const MDNS_KEY = 'mesh.mdns'
/** s a lost member's address is dialled for: healing without seeds */
const HEAL_KEY = 'mesh.heal_window'
/** the mesh's timing set: lan or wan */
const PROFILE_KEY = 'mesh.profile'

/** The edge timing keys, and which field each sets. */
const EDGE_KEYS = new Map<string, keyof EdgeTimings>([
  ['edge.linger', 'lingerSeconds'],
  ['edge.wait', 'waitSeconds'],
  ['edge.stall', 'stallSeconds'],
])

export const DEFAULT_EDGE_TIMINGS: EdgeTimings = {
  lingerSeconds: 10,
  waitSeconds: 30,
  stallSeconds: EDGE_STALL_MS / 1000,
}

/** Seconds an RTMP connection has to publish or play. */
const SETUP_TIMEOUT_KEY = 'rtmp.setup_timeout'

/** The connection limits, each a whole number (0: no limit), and which field each sets. */
const RTMP_LIMIT_KEYS = new Map<
  string,
  { field: Exclude<keyof RtmpLimits, 'setupSeconds'>; most: number; unit: string }
>([
  // Red5's own key, in Red5's unit (ms), so a red5.properties copied from Red5 means the same here
  ['rtmp.max_inactivity', { field: 'inactivityMs', most: 86_400_000, unit: 'milliseconds' }],
  ['rtmp.max_connections_per_ip', { field: 'connectionsPerIp', most: 1_000_000, unit: 'connections' }],
  ['rtmp.max_pending_per_ip', { field: 'pendingPerIp', most: 1_000_000, unit: 'connections' }],
  ['rtmp.max_chunk_rate', { field: 'chunkRate', most: 1_000_000_000, unit: 'chunks per second' }],
])
/** The HTTP limits (whole numbers; 0: no limit), and which field each sets. */
const HTTP_LIMIT_KEYS = new Map<string, { field: keyof HttpLimits; most: number; unit: string }>([
  ['http.max_connections_per_ip', { field: 'connectionsPerIp', most: 1_000_000, unit: 'connections' }],
  ['http.max_request_rate', { field: 'requestRate', most: 1_000_000, unit: 'requests per second' }],
])
/** The control plane's bearer token. */
const ADMIN_TOKEN_KEY = 'http.admin.token'
/** The mesh port's per-address caps (whole numbers; 0: no limit), and which field each sets. */
const MESH_LIMIT_KEYS = new Map<string, keyof MeshLimits>([
  ['mesh.max_connections_per_ip', 'connectionsPerIp'],
  ['mesh.max_pending_per_ip', 'pendingPerIp'],
])

export const DEFAULT_RTMP_LIMITS: RtmpLimits = {
  setupSeconds: 10,
  inactivityMs: 60_000,
  // many viewers share one address behind a NAT: the per-address cap is for floods, not for people
  connectionsPerIp: 1000,
  pendingPerIp: 64,
  // 51 Mbit/s in RTMP's default 128-byte chunks, which some encoders keep
  chunkRate: 50_000,
}
// a dashboard, a player's lookups and a kubelet's probes make a few requests a second; 200 costs a node
// a few % of a core per address (one cheap request is about 65 µs), and a NAT's crowd still fits
export const DEFAULT_HTTP_LIMITS: HttpLimits = { connectionsPerIp: 256, requestRate: 200 }
// several nodes on one host dial from one address (a wildcard listener): the open cap leaves room for them
export const DEFAULT_MESH_LIMITS: MeshLimits = { connectionsPerIp: 64, pendingPerIp: 16 }

/** Seconds a node shutting down waits for the nodes pulling from it to switch upstream. */
const DRAIN_KEY = 'shutdown.drain'

export const DEFAULT_SHUTDOWN: ShutdownSettings = { drainSeconds: 3 }

/** Every red5.properties key meshcast reads (besides the `app.<name>` family). */
export const RED5_PROPERTY_KEYS: readonly string[] = [
  ...LISTENER_KEYS.keys(),
  MDNS_KEY,
  HEAL_KEY,
  PROFILE_KEY,
  PEERS_KEY,
  ...EDGE_KEYS.keys(),
  DRAIN_KEY,
  SETUP_TIMEOUT_KEY,
  ...RTMP_LIMIT_KEYS.keys(),
  ...HTTP_LIMIT_KEYS.keys(),
  ADMIN_TOKEN_KEY,
  ...ADMIN_LISTENER_KEYS,
  ...MESH_LIMIT_KEYS.keys(),
  ...AUTH_KEYS,
  ...TLS_KEYS,
  WEBAPPS_DIR_KEY,
]

/** `mesh.*` and `webapps.*` keys are meshcast's own, so an unknown one is likely a typo; other unknown keys belong to Red5. */
const OWN_PREFIXES = ['mesh.', 'webapps.', 'edge.', 'shutdown.', 'auth.', 'tls.', 'admin.']

/** Listeners and discovery settings read from red5.properties, with everything found wrong. */
export interface PropertiesReading extends Listeners {
  /** peers still without the mesh port, which overrides may change */
  discovery: DiscoveryReading
  /** application keys, checked against the disk by `loadConfig` */
  webapps: WebappsReading
  edge: EdgeTimings
  shutdown: ShutdownSettings
  rtmpLimits: RtmpLimits
  httpLimits: HttpLimits
  meshLimits: MeshLimits
  /** the auth keys as written; `loadConfig` resolves the credentials path against the conf folder */
  auth: AuthReading
  /** the token and admin listener as written; `loadConfig` checks the listener against the others */
  admin: AdminReading
  /** the TLS keys as written; `loadConfig` resolves the files against the conf folder */
  tls: TlsReading
  warnings: string[]
  problems: ConfigProblem[]
}

/** Keys whose value is a secret: problems name the key, never the value. */
function isSecretKey(key: string): boolean {
  return key === ADMIN_TOKEN_KEY || /^auth\.origin\.[^.]+\.(password|token)$/.test(key)
}

/** A mutable copy, so defaults are never changed. */
export function copyListeners(listeners: Listeners): Listeners {
  return { http: { ...listeners.http }, rtmp: { ...listeners.rtmp }, mesh: { ...listeners.mesh } }
}

function setField(
  address: ListenAddress,
  field: keyof ListenAddress,
  place: ProblemPlace,
  problems: ProblemList,
) {
  const text = place.value ?? ''
  if (field === 'host') address.host = problems.check(place, () => parseHost(text), address.host)
  else address.port = problems.check(place, () => parsePort(text), address.port)
}

/** A seconds value where 0 means "none"; a bad one is a problem and keeps `fallback`. */
function secondsOrZero(place: ProblemPlace, problems: ProblemList, fallback: number): number {
  return problems.check(place, () => parseSeconds(place.value ?? '', { zero: true }), fallback)
}

/** Sets what one known key says; a bad value becomes a problem and leaves the default. */
function setKey(
  reading: Omit<PropertiesReading, 'webapps' | 'warnings' | 'problems'>,
  key: string,
  place: ProblemPlace,
  problems: ProblemList,
) {
  const { discovery } = reading
  const listener = LISTENER_KEYS.get(key)
  if (listener !== undefined) {
    setField(reading[listener[0]], listener[1], place, problems)
  } else if (EDGE_KEYS.has(key)) {
    const field = EDGE_KEYS.get(key) as keyof EdgeTimings
    reading.edge[field] = problems.check(place, () => parseSeconds(place.value ?? ''), reading.edge[field])
  } else if (key === DRAIN_KEY) {
    reading.shutdown.drainSeconds = secondsOrZero(place, problems, reading.shutdown.drainSeconds)
  } else if (key === SETUP_TIMEOUT_KEY) {
    reading.rtmpLimits.setupSeconds = secondsOrZero(place, problems, reading.rtmpLimits.setupSeconds)
  } else if (RTMP_LIMIT_KEYS.has(key)) {
    const { field, most, unit } = RTMP_LIMIT_KEYS.get(key) as NonNullable<
      ReturnType<typeof RTMP_LIMIT_KEYS.get>
    >
    const value = reading.rtmpLimits[field]
    reading.rtmpLimits[field] = problems.check(place, () => parseWhole(place.value ?? '', most, unit), value)
  } else if (HTTP_LIMIT_KEYS.has(key)) {
    const { field, most, unit } = HTTP_LIMIT_KEYS.get(key) as NonNullable<
      ReturnType<typeof HTTP_LIMIT_KEYS.get>
    >
    const value = reading.httpLimits[field]
    reading.httpLimits[field] = problems.check(place, () => parseWhole(place.value ?? '', most, unit), value)
  } else if (MESH_LIMIT_KEYS.has(key)) {
    const field = MESH_LIMIT_KEYS.get(key) as keyof MeshLimits
    const value = reading.meshLimits[field]
    reading.meshLimits[field] = problems.check(
      place,
      () => parseWhole(place.value ?? '', 1_000_000, 'connections'),
      value,
    )
  } else if (key === ADMIN_TOKEN_KEY) {
    // the token is a secret: a problem names the key, never the value
    reading.admin.token = problems.check(
      { ...place, value: undefined },
      () => parseAdminToken(place.value ?? ''),
      null,
    )
  } else if (isAdminListenerKey(key)) {
    readAdminListenerKey(reading.admin, key, place, problems)
  } else if (isAuthKey(key)) {
    readAuthKey(reading.auth, key, place, problems)
  } else if (isTlsKey(key)) {
    readTlsKey(reading.tls, key, place, problems)
  } else if (key === PROFILE_KEY) {
    discovery.profile = problems.check(place, () => parseMeshProfile(place.value ?? ''), discovery.profile)
  } else if (key === HEAL_KEY) {
    discovery.healSeconds = secondsOrZero(place, problems, discovery.healSeconds)
  } else if (key === MDNS_KEY) {
    discovery.mdns = problems.check(place, () => parseBoolean(place.value ?? ''), discovery.mdns)
  } else {
    const entries = readPeerList(place, problems)
    const label = place.property === key ? `${PEERS_KEY} entry` : `${place.property} entry`
    discovery.peers = { entries, where: where(place.file, place.line), label }
  }
}

/** A key's value set from outside the file (a variable), which replaces the file's. */
export interface PropertyOverride {
  key: string
  value: string
  /** where it was set (`environment`) and the name problems use (`MESHCAST_MESH_PEERS`) */
  file: string
  label: string
}

/**
 * Reads red5.properties text; problems are returned, not thrown. A key in
 * `over` replaces the file's (and is not checked there).
 */
export function readRed5Properties(
  text: string,
  file: string,
  over: readonly PropertyOverride[] = [],
): PropertiesReading {
  const reading = {
    ...copyListeners(DEFAULTS),
    discovery: defaultDiscovery(),
    edge: { ...DEFAULT_EDGE_TIMINGS },
    shutdown: { ...DEFAULT_SHUTDOWN },
    rtmpLimits: { ...DEFAULT_RTMP_LIMITS },
    httpLimits: { ...DEFAULT_HTTP_LIMITS },
    meshLimits: { ...DEFAULT_MESH_LIMITS },
    auth: defaultAuthReading(),
    admin: defaultAdminReading(),
    tls: defaultTlsReading(),
  }
  const webapps = emptyWebappsReading()
  const lines = new LineIndex(text)
  const problems = new ProblemList()
  const warnings: string[] = []
  const firstLines = new Map<string, number>()
  const replaced = new Set(over.map((o) => o.key))
  for (const node of parseLines(text, true)) {
    if (!(node instanceof Pair)) continue
    const { key, value } = node
    const line = lines.lineAt(node.range?.[0] ?? 0)
    const firstLine = firstLines.get(key)
    const known = RED5_PROPERTY_KEYS.includes(key) || isWebappsKey(key) || isAuthKey(key)
    if (!known) {
      if (OWN_PREFIXES.some((prefix) => key.startsWith(prefix))) {
        warnings.push(
          `${where(file, line)}: unknown key "${key}" is ignored${didYouMean(key, RED5_PROPERTY_KEYS)}`,
        )
      }
    } else if (replaced.has(key)) {
      // the variable wins; the file's value is neither used nor checked
    } else if (firstLine !== undefined) {
      const message = `is set more than once (lines ${firstLine} and ${line}): keep one`
      problems.add({ file, line, property: key, value: isSecretKey(key) ? undefined : value, message })
    } else {
      firstLines.set(key, line)
      const place = { file, line, property: key, value }
      if (isWebappsKey(key)) readWebappsKey(webapps, place, problems)
      else setKey(reading, key, place, problems)
    }
  }
  for (const o of over) setKey(reading, o.key, { file: o.file, property: o.label, value: o.value }, problems)
  return { ...reading, webapps, warnings, problems: problems.problems }
}

/**
 * Parses the text of a red5.properties file: http, rtmp and mesh host and
 * port, mDNS and extra mesh peers (port-less peers get the file's
 * `mesh.port`), defaults for absent keys. Other Red5 keys are ignored;
 * unknown `mesh.*` keys and repeated peers give warnings. Throws one
 * ConfigError listing every problem.
 */
export function parseRed5Properties(
  text: string,
  file: string,
): Listeners & { discovery: DiscoverySettings; warnings: string[] } {
  // the application keys are left out: finding applications needs the disk (loadConfig does it)
  const {
    problems,
    discovery,
    warnings,
    webapps: _webapps,
    edge: _edge,
    shutdown: _shutdown,
    rtmpLimits: _rtmpLimits,
    httpLimits: _httpLimits,
    meshLimits: _meshLimits,
    auth: _auth,
    admin: _admin,
    tls: _tls,
    ...listeners
  } = readRed5Properties(text, file)
  const list = new ProblemList()
  list.addAll(problems)
  list.throwIfAny()
  const { peers, warnings: peerWarnings } = resolvePeers(discovery.peers, listeners.mesh.port)
  return {
    ...listeners,
    discovery: {
      mdns: discovery.mdns,
      peers,
      healSeconds: discovery.healSeconds,
      profile: discovery.profile,
    },
    warnings: [...warnings, ...peerWarnings],
  }
}
