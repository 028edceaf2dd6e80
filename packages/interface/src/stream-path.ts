/**
 * What node-media-server accepts as an app or stream name
 * (`SAFE_NAME_PATTERN` in its rtmp_session.js and flv_session.js): anything
 * else it refuses, or, in FlvSession's case, half-builds and then crashes on.
 * Checked where a name enters (RTMP, HTTP, adverts from the wire), one rule everywhere.
 */
const SAFE_NAME = /^[a-zA-Z0-9_-]+$/

/** The longest app or stream name taken (NMS has no limit; a path is a map key and a log field). */
export const MAX_STREAM_NAME = 128

/** An app or stream name: letters, digits, `_` and `-`, at most `MAX_STREAM_NAME` of them. */
export function isStreamName(name: string): boolean {
  return name.length <= MAX_STREAM_NAME && SAFE_NAME.test(name)
}

/** `/app/name` made of stream names. */
export function isStreamPath(path: string): boolean {
  const parts = path.split('/')
  return parts.length === 3 && parts[0] === '' && isStreamName(parts[1] ?? '') && isStreamName(parts[2] ?? '')
}
