import type { Member } from '@meshcast/interface'

/** The member-data key an origin sets to its RTMPS port (`rtmps.port`): pulls from it may go over TLS. */
export const RTMPS_KEY = 'rtmps'

/** The RTMPS port `member` offers, or null (none, or not a port: a record from elsewhere is not trusted blindly). */
export function rtmpsPort(member: Member): number | null {
  const port = member.data[RTMPS_KEY]
  return typeof port === 'number' && Number.isInteger(port) && port >= 1 && port <= 65_535 ? port : null
}

/** `rtmp://host:port/app/name` → `rtmps://host:<port>/app/name`; null for a URL not of that shape. */
export function rtmpsUrl(rtmpUrl: string, port: number): string | null {
  const m = /^rtmp:\/\/(\[[^\]]+\]|[^/:]+)(?::\d+)?(\/.*)$/.exec(rtmpUrl)
  return m === null ? null : `rtmps://${m[1]}:${port}${m[2]}`
}
