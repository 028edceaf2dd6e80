import type { HostPort, Member } from '@meshcast/interface'
import type { Carrier } from './stream-book.ts'

/** Where a member is reached over RTMP, for matching it against an `origins` entry. */
function rtmpAddresses(c: Carrier): HostPort[] {
  const out: HostPort[] = [{ host: c.member.publicIp, port: c.member.publicPort }]
  const url = /^rtmp:\/\/(\[[^\]]+\]|[^/:]+)(?::(\d+))?\//.exec(c.advert.rtmpUrl)
  if (url !== null)
    out.push({ host: (url[1] as string).replace(/^\[|\]$/g, ''), port: Number(url[2] ?? 1935) })
  const mesh = /^(.*):\d+$/.exec(c.member.mesh)
  if (mesh !== null)
    out.push({ host: (mesh[1] as string).replace(/^\[|\]$/g, ''), port: c.member.publicPort })
  return out
}

/** Index of the first `origins` entry naming this carrier, or -1. */
export function originsIndex(c: Carrier, origins: readonly HostPort[]): number {
  const addrs = rtmpAddresses(c)
  return origins.findIndex((o) => addrs.some((a) => a.host === o.host && a.port === o.port))
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
  origins: readonly HostPort[],
  avoid: ReadonlySet<string> = new Set(),
): Carrier[] {
  const keyed = upstreams.map((c) => ({
    c,
    listed: originsIndex(c, origins),
    avoided: avoid.has(c.member.id),
  }))
  keyed.sort((a, b) => {
    if (a.avoided !== b.avoided) return a.avoided ? 1 : -1
    const la = a.listed === -1 ? Number.POSITIVE_INFINITY : a.listed
    const lb = b.listed === -1 ? Number.POSITIVE_INFINITY : b.listed
    if (la !== lb) return la - lb
    return (
      load(a.c.member) - load(b.c.member) ||
      a.c.advert.since - b.c.advert.since ||
      (a.c.member.id < b.c.member.id ? -1 : a.c.member.id > b.c.member.id ? 1 : 0)
    )
  })
  return keyed.map((k) => k.c)
}
