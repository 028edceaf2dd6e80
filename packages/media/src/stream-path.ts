/**
 * What node-media-server accepts as an app or stream name
 * (`SAFE_NAME_PATTERN` in its rtmp_session.js and flv_session.js): anything
 * else it refuses, or, in FlvSession's case, half-builds and then crashes on.
 */
const SAFE_NAME = /^[a-zA-Z0-9_-]+$/

/** The longest app or name we take (NMS has no limit; a path is a map key and a log field). */
export const MAX_NAME = 128

export function isSafeName(name: string): boolean {
  return name.length <= MAX_NAME && SAFE_NAME.test(name)
}

/** `/app/name` made of safe names. */
export function isStreamPath(path: string): boolean {
  const parts = path.split('/')
  return parts.length === 3 && parts[0] === '' && isSafeName(parts[1] ?? '') && isSafeName(parts[2] ?? '')
}

export type FlvPath = { ok: true; app: string; name: string; path: string } | { ok: false; message: string }

/**
 * Reads `/app/name.flv` (query ignored) from a request URL. `null` when the
 * URL is not of that shape at all (someone else's route); `ok: false` when it
 * is, but the names cannot be a stream.
 */
export function parseFlvUrl(url: string | undefined): FlvPath | null {
  const pathname = (url ?? '').split('?')[0] ?? ''
  const m = /^\/([^/]+)\/([^/]+)\.flv$/.exec(pathname)
  if (m === null) return null
  let app: string
  let name: string
  try {
    app = decodeURIComponent(m[1] ?? '')
    name = decodeURIComponent(m[2] ?? '')
  } catch {
    return { ok: false, message: 'bad stream path: invalid %-escape' }
  }
  if (!isSafeName(app) || !isSafeName(name)) {
    const shown = JSON.stringify(`${app}/${name}`.slice(0, 200))
    return {
      ok: false,
      message: `bad stream path ${shown}: app and name must be 1-${MAX_NAME} letters, digits, _ or -`,
    }
  }
  return { ok: true, app, name, path: `/${app}/${name}` }
}
