import type { HostPort, Member } from '@meshcast/interface'
import { foreignId } from './foreign.ts'
import type { Carrier } from './stream-book.ts'

/** Where a member is reached over RTMP (and its advert's URL, when given), for matching against `origins`. */
function rtmpAddresses(member: Member, rtmpUrl?: string): HostPort[] {
  const out: HostPort[] = [{ host: member.publicIp, port: member.publicPort }]
  const url = rtmpUrl === undefined ? null : /^rtmp:\/\/(\[[^\]]+\]|[^/:]+)(?::(\d+))?\//.exec(rtmpUrl)
  if (url != null)
    out.push({ host: (url[1] as string).replace(/^\[|\]$/g, ''), port: Number(url[2] ?? 1935) })
  const mesh = /^(.*):\d+$/.exec(member.mesh)
  if (mesh !== null) out.push({ host: (mesh[1] as string).replace(/^\[|\]$/g, ''), port: member.publicPort })
  return out
}

/**
 * An `origins` entry as configured; for a DNS name, also every address it
 * resolved to last (the node resolves it: this package does no I/O). The
 * entry names each member at one of those addresses.
 */
export interface OriginEntry extends HostPort {
  readonly addresses?: readonly string[]
}

/** Whether an entry stands for `host` (as written, or one of its name's addresses). */
function stands(o: OriginEntry, host: string): boolean {
  return o.host === host || o.addresses?.includes(host) === true
}

/** Index of the first `origins` entry naming this member (reached at `rtmpUrl`, if given), or -1. */
export function memberIndex(member: Member, origins: readonly OriginEntry[], rtmpUrl?: string): number {
  const addrs = rtmpAddresses(member, rtmpUrl)
  return origins.findIndex((o) => addrs.some((a) => a.port === o.port && stands(o, a.host)))
}

/** Index of the first `origins` entry naming this carrier, or -1. */
export function originsIndex(c: Carrier, origins: readonly OriginEntry[]): number {
  return memberIndex(c.member, origins, c.advert.rtmpUrl)
}

const load = (m: Member) => m.load.subscribers

/**
 * The upstreams to try for a stream, best first: carriers named in
 * `origins`, in list order; then any other upstream on the mesh, least
 * loaded first (ties: the older advert, then the id, so every edge agrees).
 * `avoid` (nodes that just failed) go last rather than nowhere: with no
 * alternative, trying one again beats giving up.
 */
export function rankUpstreams(
  upstreams: readonly Carrier[],
  origins: readonly OriginEntry[],
  avoid: ReadonlySet<string> = new Set(),
): Carrier[] {
  return rankCandidates(upstreams, origins, [], avoid).map((c) => c.carrier as Carrier)
}

/** Something an edge may pull a stream from: a mesh carrier, or a foreign origin tried blind. */
export type Candidate =
  | { kind: 'mesh'; id: string; carrier: Carrier }
  | { kind: 'foreign'; id: string; origin: HostPort; carrier?: undefined }

/**
 * `rankUpstreams` with foreign origins among them: every `origins` entry in
 * list order, whether a carrier of the stream or a foreign origin (which
 * may or may not have it: only a play tells); then the mesh's other
 * carriers, least loaded first; `avoid` (ids that just failed) last.
 * `foreign` are the entries known to have no meshcast node (a subset of `origins`).
 */
export function rankCandidates(
  upstreams: readonly Carrier[],
  origins: readonly OriginEntry[],
  foreign: readonly HostPort[],
  avoid: ReadonlySet<string> = new Set(),
): Candidate[] {
  const keyed = [
    ...upstreams.map((c) => ({
      cand: { kind: 'mesh', id: c.member.id, carrier: c } as Candidate,
      listed: originsIndex(c, origins),
    })),
    ...foreign.map((o) => ({
      cand: { kind: 'foreign', id: foreignId(o), origin: o } as Candidate,
      listed: origins.findIndex((e) => e.host === o.host && e.port === o.port),
    })),
  ].map((k) => ({ ...k, avoided: avoid.has(k.cand.id) }))
  keyed.sort((a, b) => {
    if (a.avoided !== b.avoided) return a.avoided ? 1 : -1
    const la = a.listed === -1 ? Number.POSITIVE_INFINITY : a.listed
    const lb = b.listed === -1 ? Number.POSITIVE_INFINITY : b.listed
    if (la !== lb) return la - lb
    const [ca, cb] = [a.cand.carrier, b.cand.carrier]
    if (ca === undefined || cb === undefined) return 0 // one entry, one candidate: not reached
    return (
      load(ca.member) - load(cb.member) ||
      ca.advert.since - cb.advert.since ||
      (ca.member.id < cb.member.id ? -1 : ca.member.id > cb.member.id ? 1 : 0)
    )
  })
  return keyed.map((k) => k.cand)
}
