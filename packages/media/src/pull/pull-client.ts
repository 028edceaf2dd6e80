import net from 'node:net'
import type { ConnectionOptions } from 'node:tls'
import { CREDENTIAL_KEYS, type Credentials, isWildcard, MeshcastError } from '@meshcast/interface'
import { type AVPacket, RtmpClient } from '../nms/nms.ts'
import { PULL_MARK } from '../startup-burst.ts'

/** What a pull of `path` (`/app/name`) from `url` sends its upstream: a member's token, or a foreign origin's credentials. */
export type PullCredentials = (path: string, url: string) => Credentials

/** The play name's query: the pull mark, then the credentials (Red5 Pro reads them there, as OBS's stream key sends them). */
export function playQuery(credentials: Credentials): string {
  const query = new URLSearchParams()
  for (const key of CREDENTIAL_KEYS) {
    const value = credentials[key]
    if (value !== undefined) query.set(key, value)
  }
  const rest = query.toString()
  return rest === '' ? PULL_MARK : `${PULL_MARK}&${rest}`
}

/** Why a pull ended or could not start. */
export type PullFailureReason = 'closed' | 'unpublished' | 'error' | 'timeout'

/** An upstream could not be played, or stopped playing. */
export class PullError extends MeshcastError {
  readonly reason: PullFailureReason
  readonly url: string
  constructor(reason: PullFailureReason, url: string, detail: string, options?: ErrorOptions) {
    super(`pull from ${url}: ${detail}`, options)
    this.name = 'PullError'
    this.reason = reason
    this.url = url
  }
}

export interface PullHandlers {
  /** each audio, video or data message; `data` is the parser's buffer, valid until this returns */
  onPacket(packet: AVPacket): void
  /** the pull ended after `play` resolved (never after `close`); at most once */
  onEnd(error: PullError): void
}

// NMS's RtmpClient connects to `new URL(url).hostname`, which keeps an IPv6
// address's brackets (`[::1]`): the connection fails with ENOTFOUND. Its
// parser is static and called by class name, so it is fixed once here.
// An `rtmps://` URL is parsed as RTMP's and carries the TLS options (patches/node-media-server
// connects with them), its default port 443 as ffmpeg's and OBS's.
const parseUrl = RtmpClient.parseUrl
RtmpClient.parseUrl = (url: string) => {
  const secure = url.startsWith('rtmps://')
  const info = parseUrl(secure ? `rtmp://${url.slice('rtmps://'.length)}` : url)
  const host = info.host.replace(/^\[(.*)\]$/, '$1')
  const port = secure && new URL(url).port === '' ? RTMPS_DEFAULT_PORT : info.port
  return {
    ...info,
    host,
    port,
    ...(canDialFrom(source, host) ? { localAddress: source } : {}),
    ...(secure ? { tls: tlsOptions(host) } : {}),
  }
}

const RTMPS_DEFAULT_PORT = 443

/** What pulls over RTMPS verify an upstream's certificate against; null: node's built-in CAs. */
let trusted: Buffer | null = null

/** The CA bundle (PEM) RTMPS pulls trust, or null for node's built-in ones. */
export function setPullCa(ca: Buffer | null): void {
  trusted = ca
}

/** The certificate must chain to a trusted CA and name the host dialled (an IP address as an IP SAN). */
function tlsOptions(host: string): ConnectionOptions {
  return {
    rejectUnauthorized: true,
    ...(trusted === null ? {} : { ca: trusted }),
    // SNI takes names only
    ...(net.isIP(host) === 0 ? { servername: host } : {}),
  }
}

/**
 * Whether a pull to `host` may leave from `from`: same family, and a
 * loopback source only to a loopback upstream (a node listening on
 * 127.0.0.1 still pulls from origins elsewhere). Names: the system chooses.
 */
function canDialFrom(from: string | null, host: string): from is string {
  if (from === null || net.isIP(host) === 0 || net.isIPv4(from) !== net.isIPv4(host)) return false
  return isLoopback(from) === isLoopback(host)
}

function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1'
}

/** The address pulls connect from (the node's RTMP host), or null for the system's choice. */
let source: string | null = null

/**
 * Pulls connect from `host` (a specific address the node listens on), so an
 * upstream sees the member's own address: the one its per-address caps spare,
 * also when several nodes share a machine (127.x addresses). null or a
 * wildcard: the system chooses (patches/node-media-server passes it on).
 */
export function setPullSource(host: string | null): void {
  source = host === null || isWildcard(host) || net.isIP(host) === 0 ? null : host
}

/** User control event 1 (RTMP spec 7.1.7): the stream's data is over; nginx-rtmp's "publisher gone". */
const STREAM_EOF = 1

/** onStatus codes that mean the stream is not (or no longer) there. */
const UNPUBLISHED = /UnpublishNotify|Play\.Stop|StreamNotFound/
/** onStatus codes of a refused or broken play (also what NMS's own client rejects on). */
const FAILED = /Failed|BadName|Rejected|Error/

/**
 * node-media-server's RtmpClient, fit to pull a stream for an edge:
 * - the packet handler is set before connecting: an NMS origin sends its
 *   metadata, sequence headers and GOP right behind Play.Start, in the same
 *   read, before a `sendPlay` promise can resolve (the NMS relay loses them);
 * - it acknowledges the server's window as bytes arrive (NMS only checks when
 *   a control message happens to arrive: rtmp_client.js:422-438, so against
 *   nginx-rtmp it sent 0 ACKs over 33 MB);
 * - user-control StreamEOF ends the pull (NMS ignores it: :446-462);
 * - `play` has a timeout and fails on StreamNotFound (NMS waits forever);
 * - nothing throws once the socket is gone (NMS's `write` does: :520-525),
 *   and the end is reported once (NMS may call onCloseCallback twice);
 * - bad bytes from the server end the pull instead of crashing the process;
 * - TCP_NODELAY, as on every meshcast RTMP socket.
 */
export class PullClient extends RtmpClient {
  readonly #handlers: PullHandlers
  #url = ''
  #started = false
  #ended = false
  #play: { resolve: () => void; reject: (err: PullError) => void } | null = null
  #timer: ReturnType<typeof setTimeout> | null = null
  /** the socket error behind a close, for the message */
  #socketError: Error | null = null

  constructor(handlers: PullHandlers) {
    super()
    this.#handlers = handlers
    this.onPacketCallback = (packet) => {
      if (!this.#ended) this.#handlers.onPacket(packet)
    }
    this.onStatusCallback = (code, info) => this.#onStatus(code, info)
    this.onCloseCallback = () => this.#fail('closed', this.#closeDetail())
    this.onErrorCallback = (err) => {
      this.#socketError = err
    }
    const handle = this.handleData
    this.handleData = (data: Buffer) => {
      if (this.#ended) return
      try {
        handle(data)
        this.#acknowledge()
      } catch (err) {
        this.#fail('error', `bad data from the server: ${(err as Error).message}`)
      }
    }
  }

  get url(): string {
    return this.#url
  }

  /** Whether Play.Start arrived. */
  get playing(): boolean {
    return this.#started
  }

  /**
   * Connects and plays `url`; resolves on NetStream.Play.Start. Rejects with
   * a PullError: `timeout` when that takes longer than `timeoutMs`, `closed`,
   * `unpublished` (StreamNotFound and the like) or `error`. `credentials`
   * go on the play name's query.
   */
  play(url: string, timeoutMs: number, credentials: Credentials = {}): Promise<void> {
    if (this.#url !== '') return Promise.reject(new PullError('error', url, 'this client already played'))
    this.#url = url
    return new Promise<void>((resolve, reject) => {
      this.#play = { resolve, reject }
      this.#timer = setTimeout(() => this.#fail('timeout', `not playing within ${timeoutMs} ms`), timeoutMs)
      this.connect(url)
        .then(() => this.sendConnect())
        .then(() => this.sendCreateStream())
        // marked: a meshcast upstream sends a pull no startup burst (other servers ignore the query)
        .then(() => this.sendPlay(`${this.urlInfo?.streamName ?? ''}?${playQuery(credentials)}`))
        // Play.Start is handled in #onStatus; this reports a socket that failed
        // (refused, reset) or a command the server refused
        .catch((err: Error) =>
          this.#socketError === null
            ? this.#fail('error', err.message)
            : this.#fail('closed', this.#closeDetail()),
        )
      this.socket?.setNoDelay(true)
    })
  }

  /** Ends the pull on purpose: no onEnd; a pending `play` rejects with `closed`. */
  close(): void {
    this.#finish(new PullError('closed', this.#url, 'cancelled'), false)
  }

  // NMS's write throws once the socket is gone; a late ACK or pong must not.
  override write(buffer: Buffer): void {
    const socket = this.socket
    if (socket === null || socket.destroyed || !socket.writable) return
    socket.write(buffer)
  }

  // NMS passes the raw byte count: past 4 GiB writeUInt32BE would throw; RTMP sequence numbers wrap.
  override sendACK(size: number): void {
    super.sendACK(size >>> 0)
  }

  override eventHandler(): void {
    const { header, payload } = this.parserPacket
    if (header.length >= 2 && payload.readUInt16BE(0) === STREAM_EOF) {
      this.#fail('unpublished', 'StreamEOF: the stream ended upstream')
      return
    }
    super.eventHandler()
  }

  #acknowledge(): void {
    if (this.ackSize > 0 && this.receivedBytes - this.lastAckBytes >= this.ackSize) {
      this.lastAckBytes = this.receivedBytes
      this.sendACK(this.receivedBytes)
    }
  }

  #onStatus(code: string, info: Record<string, unknown>): void {
    if (this.#ended) return
    const description = typeof info.description === 'string' ? `${code}: ${info.description}` : code
    if (code === 'NetStream.Play.Start') {
      this.#started = true
      this.#clearTimer()
      const play = this.#play
      this.#play = null
      play?.resolve()
    } else if (UNPUBLISHED.test(code)) {
      this.#fail('unpublished', description)
    } else if (FAILED.test(code) || info.level === 'error') {
      this.#fail('error', description)
    }
  }

  #closeDetail(): string {
    const err = this.#socketError
    return err === null ? 'connection closed' : `connection closed: ${err.message}`
  }

  #fail(reason: PullFailureReason, detail: string): void {
    this.#finish(new PullError(reason, this.#url, detail), true)
  }

  #finish(error: PullError, report: boolean): void {
    if (this.#ended) return
    this.#ended = true
    this.#clearTimer()
    // Only the socket goes: this may run inside the chunk parser's loop, which
    // must finish its buffer on intact state (every callback is guarded by #ended);
    // the close event then rejects NMS's pending commands.
    this.socket?.destroy()
    const play = this.#play
    this.#play = null
    if (play !== null) play.reject(error)
    else if (report && this.#started) this.#handlers.onEnd(error)
  }

  #clearTimer(): void {
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timer = null
  }
}
