import {
  FILE_HEADER_BYTES,
  FRAME_KEY,
  PREVIOUS_TAG_SIZE_BYTES,
  TAG_AUDIO,
  TAG_HEADER_BYTES,
  TAG_SCRIPT,
  TAG_TYPE_MASK,
  TAG_VIDEO,
  tagTimestamp,
  videoFrameType,
} from '@meshcast/interface'

/** One FLV tag as a test looks at it. */
export interface FlvTag {
  /** TAG_AUDIO, TAG_VIDEO or TAG_SCRIPT (8, 9, 18) */
  type: number
  /** the tag's timestamp, ms */
  timestamp: number
  /** video: a keyframe (FRAME_KEY) */
  keyframe: boolean
  /** ms since the epoch when its last byte arrived */
  at: number
}

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
      if (this.#buf.length < FILE_HEADER_BYTES + PREVIOUS_TAG_SIZE_BYTES) return out
      if (this.#buf.toString('latin1', 0, 3) !== 'FLV') throw new Error('not an FLV stream: no FLV signature')
      this.#buf = this.#buf.subarray(FILE_HEADER_BYTES + PREVIOUS_TAG_SIZE_BYTES)
      this.#headerSeen = true
    }
    while (this.#buf.length >= TAG_HEADER_BYTES) {
      const type = (this.#buf[0] as number) & TAG_TYPE_MASK
      if (type !== TAG_AUDIO && type !== TAG_VIDEO && type !== TAG_SCRIPT)
        throw new Error(`not an FLV stream: tag type ${type}`)
      const size = this.#buf.readUIntBE(1, 3)
      const total = TAG_HEADER_BYTES + size + PREVIOUS_TAG_SIZE_BYTES
      if (this.#buf.length < total) break
      const timestamp = tagTimestamp(this.#buf)
      const keyframe =
        type === TAG_VIDEO && videoFrameType(this.#buf[TAG_HEADER_BYTES] as number) === FRAME_KEY
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
