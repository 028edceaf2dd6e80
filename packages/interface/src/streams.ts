/**
 * How a node has a stream: published to it (an origin), pulled by a relay
 * (an upstream for edges that list the relay), or pulled by an edge for
 * its own players (not an upstream).
 */
export type StreamSource = 'publish' | 'relay' | 'edge'

/** What a node says about one stream it has. Rides its heartbeats as member data `streams`. */
export interface StreamAdvert {
  /** `/app/name` */
  path: string
  source: StreamSource
  /** where a player or an edge pulls it from this node */
  rtmpUrl: string
  /** codec names (`H264`, `AAC`, …), null when the stream has none of that kind or it is not known yet */
  video: string | null
  audio: string | null
  /** picture size in pixels, null when there is no video or it is not known (yet) */
  width: number | null
  height: number | null
  /** ms since the epoch when the stream began on this node */
  since: number
  /** players this node serves the stream to now */
  subscribers: number
  /**
   * the stream's incoming bitrate here (from its publisher, or its pull), kbit/s over the last
   * few seconds, rounded to 2 significant digits so that the advert does not change every beat
   */
  kbps: number
  /**
   * who provides the stream: an opaque tag of the authenticated publisher's
   * redundancy group (`auth.group.<name>`) or user, carried along by relays
   * and edges; null when it was published without credentials. An edge
   * fails over only between copies of one owner.
   */
  owner: string | null
  /** ids of the nodes it comes through, nearest first (empty when published here): no node pulls from a chain it is in */
  via: string[]
}
