/** One FLV tag as a test looks at it. */
export interface FlvTag {
  /** 8 audio, 9 video, 18 script data */
  type: number
  /** the tag's timestamp, ms */
  timestamp: number
  /** video: a keyframe (frame type 1) */
  keyframe: boolean
  /** ms since the epoch when its last byte arrived */
  at: number
}

const HEADER = 9
const PREVIOUS_SIZE = 4
const TAG_HEADER = 11

/**
 * Reads an FLV byte stream in whatever pieces it arrives (HTTP chunks,
 * WebSocket messages) and hands out whole tags. Throws on bytes that are
 * not FLV, so a test fails on a corrupt stream instead of miscounting.
 */
export class FlvTagReader {
  #buf = Buffer.alloc(0)
  #headerSeen = false

  push(chunk: Uint8Array, now = Date.now()): FlvTag[] {
    this.#buf = Buffer.concat([this.#buf, chunk])
    const out: FlvTag[] = []
    if (!this.#headerSeen) {
      if (this.#buf.length < HEADER + PREVIOUS_SIZE) return out
      if (this.#buf.toString('latin1', 0, 3) !== 'FLV') throw new Error('not an FLV stream: no FLV signature')
      this.#buf = this.#buf.subarray(HEADER + PREVIOUS_SIZE)
      this.#headerSeen = true
    }
    while (this.#buf.length >= TAG_HEADER) {
      const type = (this.#buf[0] as number) & 0x1f
      if (type !== 8 && type !== 9 && type !== 18) throw new Error(`not an FLV stream: tag type ${type}`)
      const size = this.#buf.readUIntBE(1, 3)
      const total = TAG_HEADER + size + PREVIOUS_SIZE
      if (this.#buf.length < total) break
      // 24-bit timestamp plus an 8-bit extension that holds the high byte
      const timestamp = (this.#buf.readUIntBE(4, 3) | ((this.#buf[7] as number) << 24)) >>> 0
      const keyframe = type === 9 && (this.#buf[TAG_HEADER] as number) >> 4 === 1
      out.push({ type, timestamp, keyframe, at: now })
      this.#buf = this.#buf.subarray(total)
    }
    return out
  }
}

export interface WsFlvPlayer {
  readonly tags: FlvTag[]
  /** why the socket closed, or null while open */
  readonly closed: { code: number; reason: string } | null
  close(): void
}

/** Plays WS-FLV (`ws://node/app/name.flv`) with Node's WebSocket, keeping every tag. */
export async function playWsFlv(url: string): Promise<WsFlvPlayer> {
  const ws = new WebSocket(url)
  ws.binaryType = 'arraybuffer'
  const reader = new FlvTagReader()
  const tags: FlvTag[] = []
  let closed: { code: number; reason: string } | null = null
  let failure: Error | null = null
  ws.addEventListener('message', (e) => {
    try {
      tags.push(...reader.push(new Uint8Array(e.data as ArrayBuffer)))
    } catch (err) {
      failure = err as Error
      ws.close()
    }
  })
  ws.addEventListener('close', (e) => {
    closed = { code: e.code, reason: failure?.message ?? e.reason }
  })
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener('open', () => resolve(), { once: true })
    ws.addEventListener('error', () => reject(new Error(`WS-FLV ${url}: the connection failed`)), {
      once: true,
    })
  })
  return {
    tags,
    get closed() {
      return closed
    },
    close: () => ws.close(),
  }
}
