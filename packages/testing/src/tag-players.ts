// Players that keep every tag's bytes, for tests that check a stream arrives
// intact (not only that it decodes): over RTMP with node-media-server's
// client, over HTTP-FLV with fetch; both parse with node-media-server's own
// RTMP and FLV parsers.
import { TAG_SCRIPT } from '@meshcast/interface'
import AMF from 'node-media-server/src/protocol/amf.js'
import Flv from 'node-media-server/src/protocol/flv.js'
import RtmpClient from 'node-media-server/src/protocol/rtmp_client.js'

/** One audio, video or data tag as a player got it. */
export interface MediaTag {
  /** TAG_AUDIO, TAG_VIDEO or TAG_SCRIPT (8, 9, 18) */
  type: number
  dts: number
  /** the tag body (a copy) */
  body: Buffer
  /** Date.now() when it was parsed */
  at: number
}

export interface TagPlayer {
  readonly tags: MediaTag[]
  /** why it ended, or null while it plays */
  readonly ended: string | null
  close(): void
}

/** The tag of a parsed packet; NMS's parsers reuse their buffers, so the body is copied. */
function tagOf(p: { codec_type: number; dts: number; size: number; data: Buffer }): MediaTag {
  return { type: p.codec_type, dts: p.dts, body: Buffer.from(p.data.subarray(0, p.size)), at: Date.now() }
}

/** Plays `url` (rtmp://host/app/name) over RTMP; resolves on `NetStream.Play.Start`. */
export async function playRtmpTags(url: string): Promise<TagPlayer> {
  const client = new RtmpClient()
  const tags: MediaTag[] = []
  let ended: string | null = null
  client.onPacketCallback = (p) => {
    tags.push(tagOf(p))
  }
  client.onCloseCallback = () => {
    ended ??= 'closed by the server'
  }
  client.onErrorCallback = (err) => {
    ended ??= err.message
  }
  const close = () => {
    ended ??= 'closed by the test'
    client.disconnect()
  }
  try {
    await client.connect(url)
    await client.sendConnect()
    await client.sendCreateStream()
    await client.sendPlay(new URL(url).pathname.split('/').slice(2).join('/'))
  } catch (err) {
    close()
    throw err
  }
  return {
    tags,
    get ended() {
      return ended
    },
    close,
  }
}

/** Plays `url` (http://host/app/name.flv) over HTTP-FLV; resolves once the response headers came. */
export async function playHttpFlvTags(url: string): Promise<TagPlayer> {
  const abort = new AbortController()
  const res = await fetch(url, { signal: abort.signal })
  if (!res.ok || res.body === null) throw new Error(`HTTP-FLV ${url}: ${res.status}`)
  const parser = new Flv()
  const tags: MediaTag[] = []
  let ended: string | null = null
  parser.onPacketCallback = (p) => {
    tags.push(tagOf(p))
  }
  void (async () => {
    try {
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
        const error = parser.parserData(Buffer.from(chunk))
        if (error !== null) throw new Error(error)
      }
      ended ??= 'the response ended'
    } catch (err) {
      ended ??= (err as Error).message
      abort.abort()
    }
  })()
  return {
    tags,
    get ended() {
      return ended
    },
    close: () => {
      ended ??= 'closed by the test'
      abort.abort()
    },
  }
}

/** The object of an `onMetaData` data tag (with or without `@setDataFrame`), or null for any other tag. */
export function metadataOf(tag: MediaTag): Record<string, unknown> | null {
  if (tag.type !== TAG_SCRIPT) return null
  try {
    const data = AMF.decodeAmf0Data(tag.body)
    const obj = data.dataObj
    const named = data.cmd === 'onMetaData' || data.method === 'onMetaData'
    return named && obj !== null && typeof obj === 'object' ? (obj as Record<string, unknown>) : null
  } catch {
    return null
  }
}
