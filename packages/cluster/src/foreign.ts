import { formatAddress, type HostPort } from '@meshcast/interface'
import { MAX_VIA_ID } from './adverts.ts'

/**
 * Foreign origins: `origins` entries behind which no meshcast node runs (an
 * nginx-rtmp, Red5, Wowza or SRS server). They have no adverts, so an edge
 * learns whether one has a stream only by playing it over plain RTMP.
 */

/**
 * A foreign origin's id: `rtmp://host:port`. It keys the edge's bookkeeping
 * and ends the `via` chain of a stream pulled from it; no peer id starts so.
 */
export function foreignId(origin: HostPort): string {
  return `rtmp://${formatAddress(origin)}`
}

/** Whether a `via` entry (or an upstream id) names a foreign origin rather than a member. */
export function isForeignId(id: string): boolean {
  return id.startsWith('rtmp://')
}

/** Whether the id fits an advert's `via` (a longer host name is left out of the chain). */
export function fitsVia(id: string): boolean {
  return id.length <= MAX_VIA_ID
}

/** Where a foreign origin serves `path`: the stream name the player asked for, as it is. */
export function foreignUrl(origin: HostPort, path: string): string {
  return `${foreignId(origin)}${path}`
}
