import type { AbortOptions, ConnectionProtector, MessageStream } from '@libp2p/interface'
import { byteStream } from '@libp2p/utils'

/**
 * What a dialler of this cluster sends first inside the private network:
 * multistream-select's header (its length, then `/multistream/1.0.0\n`).
 */
export const FIRST_BYTES = new Uint8Array([19, ...new TextEncoder().encode('/multistream/1.0.0\n')])

/** A connection whose first bytes, decrypted with the cluster's key, are not a dialler of this cluster's. */
export class ForeignKeyError extends Error {
  constructor(remote: string) {
    super(`a connection from ${remote} does not speak this cluster's key (another password)`)
    this.name = 'ForeignKeyError'
  }
}

/**
 * The private network (libp2p pnet) with the password checked at once.
 * pnet itself cannot tell a wrong key: the bytes just decrypt to noise, and
 * what happened next was a matter of chance. When the noise read as a short
 * length, the handshake failed at once and the dialler said "not of this
 * cluster"; when it read as a long one, both ends waited for bytes that never
 * came until the dial timed out, and the dialler could only say "cannot
 * reach" (3 timeouts in a row failed a test in one of four full runs on a loaded box).
 * The dialler always speaks first, so the listener reads its first bytes
 * and closes at once when they are not the ones every dialler sends; the
 * dialler then sees its handshake end, and says why. Nothing changes on the
 * wire: nodes without this check interoperate.
 */
export class PasswordCheck implements ConnectionProtector {
  readonly [Symbol.toStringTag] = '@meshcast/password-check'
  readonly #inner: ConnectionProtector
  readonly #onForeign: (remote: string) => void

  constructor(inner: ConnectionProtector, onForeign: (remote: string) => void) {
    this.#inner = inner
    this.#onForeign = onForeign
  }

  async protect(connection: MessageStream, options?: AbortOptions): Promise<MessageStream> {
    const box = await this.#inner.protect(connection, options)
    // a dialler would wait for the listener, which waits for the dialler: only listeners check
    if (connection.direction !== 'inbound') return box
    const bytes = byteStream(box)
    const head = (await bytes.read({ bytes: FIRST_BYTES.length, ...options })).subarray()
    bytes.unwrap() // the same stream, with any bytes read past the head given back
    if (!head.every((b, i) => b === FIRST_BYTES[i])) {
      // a MultiaddrConnection, as the upgrader hands it over
      const remote = String((connection as { remoteAddr?: unknown }).remoteAddr ?? 'an unknown address')
      this.#onForeign(remote)
      const err = new ForeignKeyError(remote)
      box.abort(err)
      throw err
    }
    // the upgrader reads them again, before whatever came after them
    box.unshift(head)
    return box
  }
}
