import { isStreamName, MAX_STREAM_NAME } from '@meshcast/interface'

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
  if (!isStreamName(app) || !isStreamName(name)) {
    const shown = JSON.stringify(`${app}/${name}`.slice(0, 200))
    return {
      ok: false,
      message: `bad stream path ${shown}: app and name must be 1-${MAX_STREAM_NAME} letters, digits, _ or -`,
    }
  }
  return { ok: true, app, name, path: `/${app}/${name}` }
}
