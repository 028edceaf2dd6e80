import { createHash, randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto'

/**
 * Hashed passwords in the credentials file: scrypt (node:crypto) in the PHC
 * string format, `$scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt>$<hash>`, salt and
 * hash in base64 without padding (what Python's passlib and `meshcast passwd` write).
 */
export const SCRYPT_PREFIX = '$scrypt$'

/**
 * ln=14, r=8, p=1: 16 MiB and about 85 ms a check on the project's 2-core box
 * (a publish or play waits for it once: a matched password is remembered).
 * Stronger is a file's choice (`meshcast passwd --ln 17` is OWASP's scrypt floor, 128 MiB).
 */
export const DEFAULT_SCRYPT = { ln: 14, r: 8, p: 1 }
const HASH_BYTES = 32
/** what a file may ask for at most (ln 20 is 1 GiB of memory a check) */
const MOST_LN = 18

export interface ScryptHash {
  ln: number
  r: number
  p: number
  salt: Buffer
  hash: Buffer
}

/** Parses a PHC scrypt string; throws an Error saying what is wrong. */
export function parseScryptHash(text: string): ScryptHash {
  const parts = text.split('$')
  // '', 'scrypt', params, salt, hash
  if (parts.length !== 5 || parts[0] !== '' || parts[1] !== 'scrypt')
    throw new Error('is not a $scrypt$ln=…,r=…,p=…$salt$hash string')
  const params = new Map((parts[2] ?? '').split(',').map((kv) => kv.split('=') as [string, string]))
  const read = (key: string, most: number) => {
    const value = Number(params.get(key))
    if (!Number.isInteger(value) || value < 1 || value > most)
      throw new Error(`has ${key}=${params.get(key) ?? '(none)'}: use a whole number from 1 to ${most}`)
    return value
  }
  const salt = Buffer.from(parts[3] ?? '', 'base64')
  const hash = Buffer.from(parts[4] ?? '', 'base64')
  if (salt.length < 8) throw new Error('has a salt shorter than 8 bytes')
  if (hash.length < 16) throw new Error('has a hash shorter than 16 bytes')
  return { ln: read('ln', MOST_LN), r: read('r', 32), p: read('p', 16), salt, hash }
}

function derive(password: string, salt: Buffer, length: number, o: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, length, o, (err, key) => (err === null ? resolve(key) : reject(err))),
  )
}

function options(h: Pick<ScryptHash, 'ln' | 'r' | 'p'>): ScryptOptions {
  const N = 2 ** h.ln
  // node refuses a derivation above maxmem: allow what N and r need, with room
  return { N, r: h.r, p: h.p, maxmem: 256 * N * h.r + 16 * 1024 * 1024 }
}

/** A new PHC scrypt string for `password`. */
export async function hashPassword(password: string, params = DEFAULT_SCRYPT): Promise<string> {
  const salt = randomBytes(16)
  const hash = await derive(password, salt, HASH_BYTES, options(params))
  const b64 = (b: Buffer) => b.toString('base64').replace(/=+$/, '')
  return `${SCRYPT_PREFIX}ln=${params.ln},r=${params.r},p=${params.p}$${b64(salt)}$${b64(hash)}`
}

/** Whether `password` matches a parsed hash; on the thread pool, compared in constant time. */
export async function matchesHash(stored: ScryptHash, password: string): Promise<boolean> {
  const key = await derive(password, stored.salt, stored.hash.length, options(stored))
  return timingSafeEqual(key, stored.hash)
}

/** A plain password compared in constant time (both digested first, so their lengths do not show). */
export function matchesPlain(stored: string, password: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest()
  return timingSafeEqual(digest(stored), digest(password))
}
