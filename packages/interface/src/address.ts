/** A host and port something listens on or connects to. */
export interface HostPort {
  host: string
  port: number
}

/** A host as URLs and `host:port` write it: an IPv6 address in brackets. */
export function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host
}

/** `host:port`, with IPv6 hosts in brackets. */
export function formatAddress({ host, port }: HostPort): string {
  return `${formatHost(host)}:${port}`
}

/** True for the wildcard addresses: they can be listened on, but not dialled or announced. */
export function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::'
}
