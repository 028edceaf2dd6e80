import {
  FILE_HEADER_BYTES,
  HAS_AUDIO,
  HAS_VIDEO,
  PREVIOUS_TAG_SIZE_BYTES,
  TAG_AUDIO,
  TAG_HEADER_BYTES,
  TAG_SCRIPT,
  TAG_TYPE_MASK,
  TAG_VIDEO,
} from '@meshcast/interface'

/** What an FLV byte stream says about itself: header flags and its script tags. */
export interface FlvSummary {
  /** the FLV header's TypeFlags: which tracks it declares */
  declaresAudio: boolean
  declaresVideo: boolean
  /** the name (first AMF0 string) of each script-data tag, in order: `onMetaData` is what players read */
  scriptNames: string[]
  audioTags: number
  videoTags: number
  /** whether the bytes ended inside a tag (a stream cut while reading) */
  truncated: boolean
}

const AMF0_STRING = 0x02

/** The AMF0 string a script tag's data starts with, or `?` when it does not start with one. */
function scriptName(data: Buffer): string {
  if (data.length < 3 || data[0] !== AMF0_STRING) return '?'
  const length = data.readUInt16BE(1)
  return data.toString('utf8', 3, 3 + length)
}

/** Reads the header and every whole tag of FLV bytes; throws on bytes that are not FLV. */
export function summarizeFlv(bytes: Buffer): FlvSummary {
  if (bytes.length < FILE_HEADER_BYTES || bytes.toString('latin1', 0, 3) !== 'FLV') {
    throw new Error('not FLV: no FLV signature')
  }
  const flags = bytes[4] as number
  const summary: FlvSummary = {
    declaresAudio: (flags & HAS_AUDIO) !== 0,
    declaresVideo: (flags & HAS_VIDEO) !== 0,
    scriptNames: [],
    audioTags: 0,
    videoTags: 0,
    truncated: false,
  }
  let at = bytes.readUInt32BE(5) + PREVIOUS_TAG_SIZE_BYTES
  while (at + TAG_HEADER_BYTES <= bytes.length) {
    const type = (bytes[at] as number) & TAG_TYPE_MASK
    const size = bytes.readUIntBE(at + 1, 3)
    if (at + TAG_HEADER_BYTES + size > bytes.length) break
    const data = bytes.subarray(at + TAG_HEADER_BYTES, at + TAG_HEADER_BYTES + size)
    if (type === TAG_AUDIO) summary.audioTags++
    else if (type === TAG_VIDEO) summary.videoTags++
    else if (type === TAG_SCRIPT) summary.scriptNames.push(scriptName(data))
    else throw new Error(`not FLV: tag type ${type} at byte ${at}`)
    at += TAG_HEADER_BYTES + size + PREVIOUS_TAG_SIZE_BYTES
  }
  summary.truncated = at < bytes.length
  return summary
}

export interface FlvHeadOptions {
  /** stop once this many audio+video tags arrived; default 10 */
  mediaTags?: number
  /** give up after this long (ms) and summarize what came; default 5 s */
  timeout?: number
}

/**
 * Reads the start of an HTTP-FLV (`http://…/app/name.flv`) or WS-FLV
 * (`ws://…`) stream and summarizes it: the header's track flags, the script
 * tags' names, how many media tags came before `mediaTags` or the timeout.
 */
export async function readFlvHead(url: string, opts: FlvHeadOptions = {}): Promise<FlvSummary> {
  const want = opts.mediaTags ?? 10
  const chunks: Buffer[] = []
  const enough = () => {
    const s = summarizeFlv(Buffer.concat(chunks))
    return s.audioTags + s.videoTags >= want
  }
  const haveHeader = () => Buffer.concat(chunks).length >= FILE_HEADER_BYTES
  const deadline = AbortSignal.timeout(opts.timeout ?? 5000)
  if (url.startsWith('ws')) {
    const ws = new WebSocket(url)
    ws.binaryType = 'arraybuffer'
    await new Promise<void>((resolve, reject) => {
      const end = () => {
        ws.close()
        resolve()
      }
      deadline.addEventListener('abort', end, { once: true })
      ws.addEventListener('error', () => reject(new Error(`WS-FLV ${url}: the connection failed`)))
      ws.addEventListener('close', () => resolve())
      ws.addEventListener('message', (e) => {
        chunks.push(Buffer.from(e.data as ArrayBuffer))
        if (haveHeader() && enough()) end()
      })
    })
  } else {
    const res = await fetch(url, { signal: deadline }).catch((err: Error) => {
      throw new Error(`HTTP-FLV ${url}: ${err.message}`)
    })
    if (!res.ok || res.body === null) throw new Error(`HTTP-FLV ${url}: answered ${res.status}`)
    const reader = res.body.getReader()
    try {
      for (;;) {
        const { value, done } = await reader.read()
        if (done) break
        chunks.push(Buffer.from(value))
        if (haveHeader() && enough()) break
      }
    } catch (err) {
      if (!deadline.aborted) throw err
    } finally {
      await reader.cancel().catch(() => {})
    }
  }
  if (!haveHeader()) throw new Error(`${url}: no FLV header within ${opts.timeout ?? 5000} ms`)
  return summarizeFlv(Buffer.concat(chunks))
}
