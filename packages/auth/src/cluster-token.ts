import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto'

/** The user a cluster's own pulls play as (Red5 Pro's name for an edge's restreamer). */
export const CLUSTER_USER = 'cluster-restreamer'
/** s a token is good for after it is made; also the clock difference tolerated between members */
const LIFETIME_S = 120
const VERSION = 'mc1'

/**
 * Tokens a member puts on its pulls instead of the cluster password, which
 * also keys the mesh: a token names one stream and expires within two
 * minutes, so one seen on a plain RTMP link opens nothing else and not for
 * long. `mc1.<expiry, unix s>.<HMAC-SHA256 over app/name and expiry, base64url>`,
 * keyed by HKDF of the cluster password.
 */
export class ClusterTokens {
  readonly #key: Buffer

  constructor(clusterPassword: string) {
    this.#key = Buffer.from(hkdfSync('sha256', clusterPassword, 'meshcast', 'meshcast pull token', 32))
  }

  mint(app: string, name: string, nowMs = Date.now()): string {
    const expiry = Math.floor(nowMs / 1000) + LIFETIME_S
    return `${VERSION}.${expiry}.${this.#mac(app, name, expiry).toString('base64url')}`
  }

  /** Whether `token` was made by a member for this stream and is still good. */
  verify(token: string, app: string, name: string, nowMs = Date.now()): boolean {
    const [version, expiryText, mac, extra] = token.split('.')
    if (version !== VERSION || extra !== undefined || expiryText === undefined || mac === undefined)
      return false
    const expiry = Number(expiryText)
    const now = nowMs / 1000
    // a token from a clock ahead by more than a lifetime is refused too
    if (!Number.isSafeInteger(expiry) || expiry < now || expiry > now + 2 * LIFETIME_S) return false
    const given = Buffer.from(mac, 'base64url')
    const want = this.#mac(app, name, expiry)
    return given.length === want.length && timingSafeEqual(given, want)
  }

  #mac(app: string, name: string, expiry: number): Buffer {
    return createHmac('sha256', this.#key).update(`${app}/${name}\n${expiry}`).digest()
  }
}
