import { readFileSync, unwatchFile, watchFile } from 'node:fs'
import { createSecureContext, type SecureContext } from 'node:tls'
import { ConfigError, type Logger } from '@meshcast/interface'

/** ms between checks of the certificate files (fs.watchFile: renames and editors' swaps included). */
const WATCH_MS = 1000

/** The PEM files, as `tls.cert` and `tls.key` name them. */
export interface TlsFiles {
  cert: string
  key: string
}

/**
 * The node's certificate for RTMPS and HTTPS: read at start (a bad file stops
 * the start with a clear error), reread when either file changes or on
 * SIGHUP. A new pair that does not load (a half-written file, a key that is
 * not the certificate's) is logged and the old one kept: connections go on
 * with what worked. Listeners read `context` per connection, or are told
 * (`onChange`).
 */
export class TlsCertificate {
  readonly files: TlsFiles
  readonly #log: Logger
  #context: SecureContext
  #pem: { cert: Buffer; key: Buffer }
  readonly #listeners: ((pem: { cert: Buffer; key: Buffer }) => void)[] = []
  #watching = false
  readonly #onSignal = () => this.reload('SIGHUP')
  readonly #watchMs: number

  /** Throws a ConfigError naming the file when the pair cannot be used. `watchMs`: between looks at the files (default 1 s). */
  constructor(files: TlsFiles, log: Logger, opts: { watchMs?: number } = {}) {
    this.files = files
    this.#log = log
    this.#watchMs = opts.watchMs ?? WATCH_MS
    this.#pem = readPair(files)
    this.#context = contextOf(this.#pem, files)
  }

  /** The certificate now. */
  get context(): SecureContext {
    return this.#context
  }

  /** The PEM pair now, for servers that take options (`setSecureContext`). */
  get pem(): { cert: Buffer; key: Buffer } {
    return this.#pem
  }

  /** Calls `listener` with each new pair; returns what stops that. */
  onChange(listener: (pem: { cert: Buffer; key: Buffer }) => void): () => void {
    this.#listeners.push(listener)
    return () => {
      const i = this.#listeners.indexOf(listener)
      if (i !== -1) this.#listeners.splice(i, 1)
    }
  }

  start(): void {
    if (this.#watching) return
    this.#watching = true
    for (const file of [this.files.cert, this.files.key])
      watchFile(file, { interval: this.#watchMs, persistent: false }, (now, before) => {
        if (now.mtimeMs !== before.mtimeMs || now.size !== before.size) this.reload('the file changed')
      })
    process.on('SIGHUP', this.#onSignal)
  }

  stop(): void {
    if (!this.#watching) return
    this.#watching = false
    for (const file of [this.files.cert, this.files.key]) unwatchFile(file)
    process.off('SIGHUP', this.#onSignal)
  }

  /** Rereads the pair; true when the new one is in use. */
  reload(why: string): boolean {
    let pem: { cert: Buffer; key: Buffer }
    let context: SecureContext
    try {
      pem = readPair(this.files)
      context = contextOf(pem, this.files)
    } catch (err) {
      this.#log.error('TLS certificate not reloaded: the old one stays in use', {
        why,
        err: (err as Error).message,
      })
      return false
    }
    if (pem.cert.equals(this.#pem.cert) && pem.key.equals(this.#pem.key)) return true
    this.#pem = pem
    this.#context = context
    for (const listener of this.#listeners) listener(pem)
    this.#log.info('TLS certificate reloaded', { why, cert: this.files.cert })
    return true
  }
}

function readPair(files: TlsFiles): { cert: Buffer; key: Buffer } {
  const read = (what: string, path: string) => {
    try {
      return readFileSync(path)
    } catch (err) {
      const message = `cannot be read as the TLS ${what}: ${(err as NodeJS.ErrnoException).code ?? err}`
      throw new ConfigError([{ file: path, message }], { cause: err })
    }
  }
  return { cert: read('certificate', files.cert), key: read('key', files.key) }
}

function contextOf(pem: { cert: Buffer; key: Buffer }, files: TlsFiles): SecureContext {
  try {
    return createSecureContext(pem)
  } catch (err) {
    // OpenSSL's words ("key values mismatch", "no start line") with the files they are about
    const message = `and the key ${files.key} cannot be used as a TLS certificate: ${(err as Error).message}`
    throw new ConfigError([{ file: files.cert, message }], { cause: err })
  }
}
