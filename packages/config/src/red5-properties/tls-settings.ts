import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { confPath } from '../conf-path.ts'
import { parseBoolean, parsePortOrOff } from '../parse-values.ts'
import type { ProblemList, ProblemPlace } from '../problems/problem-list.ts'
import type { ListenAddress, TlsSettings } from '../types.ts'

/** The TLS keys: the two encrypted listeners, their certificate, and how pulls check upstreams'. */
export const TLS_KEYS = [
  'rtmps.host',
  'rtmps.port',
  'https.host',
  'https.port',
  'tls.cert',
  'tls.key',
  'tls.ca',
  'tls.upstream',
] as const

/** In the conf folder unless `tls.cert` / `tls.key` say otherwise. */
export const DEFAULT_CERT_FILE = 'tls.crt'
export const DEFAULT_KEY_FILE = 'tls.key'

/** What the TLS keys say, as written; `resolveTls` checks them together. */
export interface TlsReading {
  /** the port as written: Red5's own red5.properties sets both, which alone turns nothing on */
  rtmps: { host: string | undefined; port: string | undefined }
  https: { host: string | undefined; port: string | undefined }
  cert: string | undefined
  key: string | undefined
  ca: string | undefined
  upstream: boolean
  places: Map<string, ProblemPlace>
}

export function defaultTlsReading(): TlsReading {
  return {
    rtmps: { host: undefined, port: undefined },
    https: { host: undefined, port: undefined },
    cert: undefined,
    key: undefined,
    ca: undefined,
    upstream: true,
    places: new Map(),
  }
}

export function isTlsKey(key: string): boolean {
  return (TLS_KEYS as readonly string[]).includes(key)
}

/** Records one TLS key; a bad value is a problem and keeps the default. */
export function readTlsKey(
  reading: TlsReading,
  key: string,
  place: ProblemPlace,
  problems: ProblemList,
): void {
  const text = (place.value ?? '').trim()
  reading.places.set(key, place)
  const [listener, field] = key.split('.') as [string, string]
  if (listener === 'rtmps' || listener === 'https') {
    const address = reading[listener]
    if (field === 'port') address.port = text === '' ? undefined : text
    else address.host = text === '' ? undefined : text
  } else if (key === 'tls.upstream') reading.upstream = problems.check(place, () => parseBoolean(text), true)
  else if (key === 'tls.cert') reading.cert = text === '' ? undefined : text
  else if (key === 'tls.key') reading.key = text === '' ? undefined : text
  else if (key === 'tls.ca') reading.ca = text === '' ? undefined : text
}

/**
 * The settings the node uses. A listener is on when its port is set (not 0)
 * and there is a certificate: `tls.cert` and `tls.key` written, or
 * conf/tls.crt and conf/tls.key there. Red5's own red5.properties sets
 * `rtmps.port` and `https.port` with its certificates in a Java keystore:
 * copied here without a certificate, they turn nothing on (`meshcast check`
 * says so). Files are absolute (a relative path is taken from the conf
 * folder's parent, Red5's `RED5_HOME`, as `auth.credentials`). A bad port,
 * a written file that is not there, or a TLS port that is the plain one's, is a problem.
 */
export function resolveTls(
  reading: TlsReading,
  confDir: string,
  plain: { rtmp: ListenAddress; http: ListenAddress },
  problems: ProblemList,
): TlsSettings {
  const cert = confPath(confDir, reading.cert, DEFAULT_CERT_FILE)
  const key = confPath(confDir, reading.key, DEFAULT_KEY_FILE)
  const ca = reading.ca === undefined ? null : confPath(confDir, reading.ca, '')
  const written = reading.cert !== undefined || reading.key !== undefined
  const certificate = written || (existsSync(cert) && existsSync(key))
  const listener = (name: 'rtmps' | 'https', clash: ListenAddress): ListenAddress | null => {
    const { host, port: text } = reading[name]
    const place = reading.places.get(`${name}.port`)
    if (text === undefined || place === undefined || !certificate) return null
    const port = problems.check(place, () => parsePortOrOff(text), 0)
    if (port === 0) return null
    const address = { host: host ?? clash.host, port }
    if (address.port === clash.port && address.host === clash.host)
      problems.add({ ...place, message: `is the plain listener's port too: give ${name} a port of its own` })
    return address
  }
  const rtmps = listener('rtmps', plain.rtmp)
  const https = listener('https', plain.http)
  if (written && (rtmps !== null || https !== null))
    for (const [what, path, property] of [
      ['certificate', cert, 'tls.cert'],
      ['key', key, 'tls.key'],
    ] as const) {
      if (existsSync(path)) continue
      const own = reading.places.get(property)
      const port = reading.places.get(rtmps !== null ? 'rtmps.port' : 'https.port')
      if (own !== undefined)
        problems.add({ ...own, message: `names the TLS ${what} ${path}, which is not there` })
      else if (port !== undefined)
        problems.add({
          ...port,
          message: `turns TLS on, but its ${what} ${path} is not there: write it, or set ${property}`,
        })
    }
  const caPlace = reading.places.get('tls.ca')
  if (ca !== null && caPlace !== undefined && !existsSync(ca))
    problems.add({ ...caPlace, message: `names ${ca}, which is not there` })
  return { rtmps, https, cert, key, ca, upstream: reading.upstream }
}

/** The settings of a node with no TLS keys: nothing encrypted but the mesh. */
export function defaultTls(confDir: string): TlsSettings {
  return {
    rtmps: null,
    https: null,
    cert: join(confDir, DEFAULT_CERT_FILE),
    key: join(confDir, DEFAULT_KEY_FILE),
    ca: null,
    upstream: true,
  }
}
