import { createHash, timingSafeEqual } from 'node:crypto'
import { readFileSync, type Stats, type StatWatcher, unwatchFile, watchFile } from 'node:fs'
import { ConfigError, type Logger } from '@meshcast/interface'
import { parseCredentials, type Secret } from './credentials-file.ts'
import { matchesHash, matchesPlain } from './password-hash.ts'

/** ms between looks at the credentials file (a stat: cheap; survives editors and ConfigMaps that replace the file). */
export const DEFAULT_WATCH_MS = 1000

/** Reads the credentials file, or throws a ConfigError naming it (missing, unreadable, or its problems). */
export function readCredentials(file: string): Map<string, Secret> {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : 'cannot be read'
    throw new ConfigError(
      [
        {
          file,
          message: `${why}: the file validator (auth.validator=file) reads username=password lines from it`,
        },
      ],
      { cause: err },
    )
  }
  return parseCredentials(text, file)
}

/**
 * Red5 Pro's file validator: user names and passwords from a credentials
 * file, read again whenever it changes. A change that does not parse is
 * logged and the previous users are kept (a typo never opens or locks the
 * node). A matched hashed password is remembered (by digest) until the next
 * reload, so scrypt runs once per user and password, not once per play.
 */
export class FileValidator {
  readonly file: string
  readonly #log: Logger
  #users: Map<string, Secret>
  #matched = new Map<string, Buffer>()
  #watching: StatWatcher | null = null
  /** times the file was read again, and of them the ones that failed */
  reloads = 0
  reloadFailures = 0

  /** Reads the file now: throws a ConfigError when it cannot be used. */
  constructor(file: string, log: Logger) {
    this.file = file
    this.#log = log
    this.#users = readCredentials(file)
  }

  get users(): number {
    return this.#users.size
  }

  /** Watches the file for changes; `stop()` ends it. */
  start(intervalMs = DEFAULT_WATCH_MS): void {
    if (this.#watching !== null) return
    this.#watching = watchFile(this.file, { interval: intervalMs }, (now: Stats, before: Stats) => {
      if (now.mtimeMs !== before.mtimeMs || now.size !== before.size || now.ino !== before.ino) this.reload()
    })
    this.#watching.unref?.()
  }

  stop(): void {
    if (this.#watching === null) return
    unwatchFile(this.file)
    this.#watching = null
  }

  /** Reads the file again; on a problem, keeps the users it had. */
  reload(): void {
    this.reloads++
    try {
      this.#users = readCredentials(this.file)
      this.#matched = new Map()
      this.#log.info('credentials file read again', { file: this.file, users: this.#users.size })
    } catch (err) {
      this.reloadFailures++
      const problems = err instanceof ConfigError ? err.message : String(err)
      this.#log.error('credentials file not used: the previous users stay', { file: this.file, problems })
    }
  }

  /** Whether `username` is listed with `password`. */
  async check(username: string, password: string): Promise<boolean> {
    const secret = this.#users.get(username)
    if (secret === undefined) return false
    if (secret.kind === 'plain') return matchesPlain(secret.password, password)
    const digest = createHash('sha256').update(password).digest()
    const known = this.#matched.get(username)
    if (known !== undefined && timingSafeEqual(known, digest)) return true
    const users = this.#users
    const ok = await matchesHash(secret.hash, password)
    // a reload during the hash: remember nothing about the old file
    if (ok && users === this.#users) this.#matched.set(username, digest)
    return ok
  }
}
