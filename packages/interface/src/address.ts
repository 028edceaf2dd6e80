/** A host and port something listens on or connects to. */
export interface HostPort {
  host: string
  port: number
}

/** `host:port`, with IPv6 hosts in brackets. */
export function formatAddress({ host, port }: HostPort): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
}
