import { isIPv4 } from 'node:net'
import {
  type ClusterXmlOptions,
  clusterXml,
  DEFAULT_HTTP_PORT,
  DEFAULT_RTMP_PORT,
  red5Properties,
} from '@meshcast/config'

/** The demo binds loopback only: it is for looking at, not for serving a network. */
export const DEFAULT_DEMO_ADDRESS = '127.0.0.1'
export const DEFAULT_DEMO_ORIGINS = 2
export const DEFAULT_DEMO_EDGES = 2
/** Most nodes a demo starts (each is a process of about 150 MB). */
export const MAX_DEMO_NODES = 16
export const DEMO_STREAM = 'live/demo'
/** Seconds between an edge's attempts on a lost origin: short, so a restarted origin is back quickly. */
const DEMO_RETRY_DURATION = 5

export interface DemoPlanInit {
  origins: number
  edges: number
  /** the first node's loopback address; the others count up from it */
  address: string
  password: string
  /** the chat application's folder, when it is there */
  chat: string | null
}

/** One node of the demo: its name, address and the files of its conf folder. */
export interface DemoNode {
  name: string
  role: 'origin' | 'edge'
  address: string
  files: { 'cluster.xml': string; 'red5.properties': string }
}

/** Why the plan cannot be made, as a sentence for the user. */
export class DemoPlanError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'DemoPlanError'
  }
}

/** `127.0.0.1` + 2 → `127.0.0.3`; only within 127.0.0.0/8, the loopback network. */
export function nthAddress(first: string, n: number): string {
  const parts = first.split('.').map(Number)
  const last = (parts[3] ?? 0) + n
  if (last > 254)
    throw new DemoPlanError(`${first} leaves no room for ${n + 1} nodes: choose a lower --address`)
  return [parts[0], parts[1], parts[2], last].join('.')
}

/**
 * Origins first (`origin-1` …), then edges that list every origin: each
 * node on its own loopback address with the default ports, as separate
 * hosts would be, all sharing one password. mDNS stays off: its packets
 * would leave by the real network interface.
 */
export function planDemo(init: DemoPlanInit): DemoNode[] {
  const { origins, edges, address } = init
  if (!isIPv4(address) || !address.startsWith('127.'))
    throw new DemoPlanError(
      `--address must be an IPv4 loopback address (127.x.y.z), not ${JSON.stringify(address)}`,
    )
  if (!Number.isInteger(origins) || origins < 1)
    throw new DemoPlanError('--origins must be a whole number, at least 1')
  if (!Number.isInteger(edges) || edges < 0)
    throw new DemoPlanError('--edges must be a whole number, at least 0')
  if (origins + edges > MAX_DEMO_NODES)
    throw new DemoPlanError(`the demo runs at most ${MAX_DEMO_NODES} nodes (asked for ${origins + edges})`)
  const originAddresses = Array.from({ length: origins }, (_, i) => nthAddress(address, i))
  const nodes: DemoNode[] = []
  for (let i = 0; i < origins + edges; i++) {
    const role = i < origins ? 'origin' : 'edge'
    const host = nthAddress(address, i)
    const cluster: ClusterXmlOptions = {
      origins: role === 'edge' ? originAddresses.map((a) => `${a}:${DEFAULT_RTMP_PORT}`) : [],
      password: init.password,
      publicIp: host,
      nodeType: role,
      retryDuration: DEMO_RETRY_DURATION,
    }
    const properties: Record<string, string | number | boolean> = {
      'http.host': host,
      'rtmp.host': host,
      'mesh.host': host,
      'mesh.mdns': false,
      // an edge joins through the origins; the origins find each other through the first one
      ...(role === 'origin' && i > 0 ? { 'mesh.peers': originAddresses[0] as string } : {}),
      ...(init.chat === null ? {} : { 'app.chatr': init.chat }),
    }
    nodes.push({
      name: `${role}-${role === 'origin' ? i + 1 : i - origins + 1}`,
      role,
      address: host,
      files: { 'cluster.xml': clusterXml(cluster), 'red5.properties': red5Properties(properties) },
    })
  }
  return nodes
}

/** `http://host:5080` of a demo node. */
export function webOf(node: DemoNode): string {
  return `http://${node.address}:${DEFAULT_HTTP_PORT}`
}

/** `rtmp://host:1935` of a demo node. */
export function rtmpOf(node: DemoNode): string {
  return `rtmp://${node.address}:${DEFAULT_RTMP_PORT}`
}
