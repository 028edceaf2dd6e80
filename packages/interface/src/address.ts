/** A host and port something listens on or connects to. */
export interface HostPort {
  host: string
  port: number
}

/** `host:port`, with IPv6 hosts in brackets. */
export function formatAddress({ host, port }: HostPort): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
}

/** True for the wildcard addresses: they can be listened on, but not dialled or announced. */
export function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::'
}
