import { type ConfigProblem, formatAddress } from '@meshcast/interface'
import { canonicalHost, isWildcardHost } from './parse-address.ts'
import type { OriginAddress } from './types.ts'

/** An address this node is reachable at, and the settings it comes from. */
export interface SelfAddress {
  host: string
  port: number
  /** e.g. `publicIp:publicPort` */
  source: string
}

/** The node's own address from `source`; none when the host is a wildcard, which names no single node. */
export function selfAddress(host: string, port: number, source: string): SelfAddress[] {
  return isWildcardHost(host) ? [] : [{ host, port, source }]
}

function isSame(origin: OriginAddress, self: SelfAddress): boolean {
  return origin.port === self.port && canonicalHost(origin.host) === canonicalHost(self.host)
}

/** One problem per origins entry that is this node itself: a node cannot pull streams from itself. */
export function findSelfOrigins(
  origins: readonly OriginAddress[],
  originLines: readonly (number | undefined)[],
  selves: readonly SelfAddress[],
  file: string,
  property = 'origins',
): ConfigProblem[] {
  const problems: ConfigProblem[] = []
  for (const [index, origin] of origins.entries()) {
    const self = selves.find((candidate) => isSame(origin, candidate))
    if (self === undefined) continue
    const line = originLines[index]
    const own = `${self.source} ${formatAddress({ host: self.host, port: self.port })}`
    const message = `names this node itself (${own}): a node cannot pull from itself; remove the entry (an origin leaves origins empty)`
    problems.push({
      file,
      ...(line === undefined ? {} : { line }),
      property,
      value: origin.text,
      message,
    })
  }
  return problems
}
