/**
 * Who may publish or play: what a listener asks the node's access check
 * and what it answers. Credentials are never logged, advertised or shown.
 */

/** What a client gave: Red5 Pro's `username`, `password` and `token` (query or connect arguments). */
export interface Credentials {
  username?: string
  password?: string
  token?: string
}

export type AccessAction = 'publish' | 'play'

export interface AccessRequest {
  action: AccessAction
  app: string
  /** the stream name, its query cut off */
  name: string
  credentials: Credentials
  /** the client's address, without its port */
  clientIp: string
  /** `rtmp`, `http-flv` or `ws-flv` */
  protocol: string
}

/** Why a client was refused; `missing` means it gave no credentials at all (HTTP 401, not 403). */
export type AccessRefusal =
  | 'no-credentials'
  | 'bad-credentials'
  | 'odd-credentials'
  | 'validator-failed'
  | 'not-allowed'

export type AccessVerdict =
  | {
      allowed: true /** who, when credentials were checked; null when none were needed */
      user: string | null
      /**
       * for a checked publish, who provides the stream: an opaque tag of the
       * publisher's redundancy group (or user) that rides the stream's advert;
       * null when the publish needed no credentials, and for plays
       */
      owner: string | null
    }
  | {
      allowed: false
      reason: AccessRefusal /** for the client and the log line: never a credential */
      detail: string
    }

/** The node's access check; resolves, never rejects (a failure is a refusal). */
export type Authorize = (request: AccessRequest) => Promise<AccessVerdict>

/** Everyone may: a node with no access check. */
export const ALLOW_ALL: Authorize = () => Promise.resolve({ allowed: true, user: null, owner: null })

/** The query keys (and connect-argument fields) that carry credentials. */
export const CREDENTIAL_KEYS = ['username', 'password', 'token'] as const

/** Credentials from a URL query (`username`, `password`, `token`), first value of each; absent keys stay absent. */
export function credentialsFromQuery(query: URLSearchParams): Credentials {
  const out: Credentials = {}
  for (const key of CREDENTIAL_KEYS) {
    const value = query.get(key)
    if (value !== null) out[key] = value
  }
  return out
}

/** `b` fills what `a` lacks. */
export function mergeCredentials(a: Credentials, b: Credentials): Credentials {
  return { ...b, ...a }
}

/** Whether any credential was given. */
export function hasCredentials(c: Credentials): boolean {
  return c.username !== undefined || c.password !== undefined || c.token !== undefined
}

/** `Authorization: Basic base64(user:password)` as credentials; nothing for any other header. */
export function basicCredentials(header: string | undefined): Credentials {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '')
  if (match === null) return {}
  const text = Buffer.from(match[1] ?? '', 'base64').toString('utf8')
  const colon = text.indexOf(':')
  return colon === -1 ? {} : { username: text.slice(0, colon), password: text.slice(colon + 1) }
}
