import { lookup } from 'node:dns/promises'
import { isIP } from 'node:net'
import { networkInterfaces } from 'node:os'

/** Every address a name stands for now. Throws when it cannot be resolved. */
export type LookupAll = (name: string) => Promise<string[]>

/**
 * Every A and AAAA record of a name, through the system resolver as
 * getaddrinfo does it (`/etc/hosts`, then DNS with resolv.conf's search
 * domains and `ndots`): what a headless Kubernetes Service, Docker's
 * `tasks.<service>` or a round-robin name needs. Sorted, no repeats.
 */
export const lookupAll: LookupAll = async (name) => {
  const found = await lookup(name, { all: true, order: 'ipv4first' })
  return [...new Set(found.map((a) => a.address))].sort()
}

/** Whether a seed's host is a DNS name (not an IPv4 or IPv6 address). */
export function isName(host: string): boolean {
  return isIP(host) === 0
}

/** This machine's interface addresses: where a wildcard listener is reached. */
export function localAddresses(): Set<string> {
  const out = new Set<string>()
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) out.add(a.address)
  return out
}
