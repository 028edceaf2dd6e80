// An Enhanced RTMP publisher (HEVC / AV1 / VP9 by FourCC, as OBS 30+ and ffmpeg
// 6.1+ send them): no encoder on Debian 12 sends these tags, so a test sends
// them byte by byte. The clip comes from enhanced-clip.ts; the RTMP client is
// node-media-server's own (handshake, connect, createStream, publish).
import {
  EX_CODED_FRAMES,
  EX_CODED_FRAMES_X,
  EX_SEQUENCE_START,
  FRAME_INTER,
  FRAME_KEY,
  fourcc as fourccId,
  TAG_VIDEO,
  VIDEO_EX_HEADER,
} from '@meshcast/interface'
import AVPacket from 'node-media-server/src/core/avpacket.js'
import Rtmp from 'node-media-server/src/protocol/rtmp.js'
import RtmpClient from 'node-media-server/src/protocol/rtmp_client.js'
import type { EnhancedClip } from './enhanced-clip.ts'

/** Enhanced RTMP's VideoPacketType (the low nibble of the first byte when its top bit is set). */
export const PACKET_TYPE = {
  sequenceStart: EX_SEQUENCE_START,
  codedFrames: EX_CODED_FRAMES,
  codedFramesX: EX_CODED_FRAMES_X,
} as const

/** where a type-0 chunk with a 1-byte basic header holds the message stream id */
const STREAM_ID_OFFSET = 8

/**
 * One video tag body: `0x80 | frameType << 4 | packetType`, the FourCC,
 * for HEVC CodedFrames a 24-bit signed composition time, then `payload`.
 */
export function enhancedVideoTag(
  fourcc: string,
  packetType: number,
  key: boolean,
  payload: Buffer,
  cts = 0,
): Buffer {
  const withCts = fourcc === 'hvc1' && packetType === PACKET_TYPE.codedFrames
  const head = Buffer.alloc(5 + (withCts ? 3 : 0))
  head[0] = VIDEO_EX_HEADER | ((key ? FRAME_KEY : FRAME_INTER) << 4) | packetType
  head.write(fourcc, 1, 'latin1')
  if (withCts) head.writeIntBE(cts, 5, 3)
  return Buffer.concat([head, payload])
}

/**
 * The tag a frame goes in, as ffmpeg 6.1's FLV muxer makes it: HEVC uses
 * CodedFramesX when the composition time is 0, CodedFrames otherwise; AV1
 * and VP9 always CodedFrames, which has no composition time for them (mpegts.js 1.8
 * rejects AV1 CodedFramesX).
 */
export function frameTag(fourcc: string, key: boolean, data: Buffer, cts: number): Buffer {
  if (fourcc === 'hvc1' && cts === 0) return enhancedVideoTag(fourcc, PACKET_TYPE.codedFramesX, key, data)
  return enhancedVideoTag(fourcc, PACKET_TYPE.codedFrames, key, data, cts)
}

/** What the publisher sent, for tests to compare with what players get. */
export interface SentTag {
  dts: number
  /** the whole video tag body */
  body: Buffer
  key: boolean
  sequenceStart: boolean
}

export interface EnhancedPublishOptions {
  /** how long to loop the clip, ms (default 120 s: a test stops it sooner) */
  durationMs?: number
}

/** The FourCC as metadata's `videocodecid` carries it: a big-endian uint32 (OBS 30, ffmpeg 6.1). */
export { fourccId }

/**
 * Publishes `clip` to `url` (rtmp://host/app/name) in real time, looped with
 * increasing timestamps: `onMetaData` (videocodecid = the FourCC, width,
 * height, framerate), the SequenceStart, then every frame when its dts is due.
 */
export class EnhancedPublisher {
  readonly url: string
  readonly clip: EnhancedClip
  /** every video tag sent, in order */
  readonly sent: SentTag[] = []
  readonly #client = new RtmpClient()
  #streamId = 0
  #timer: NodeJS.Timeout | null = null
  #startedAt = 0
  #next = 0
  #endAt: number
  #ended: string | null = null

  private constructor(url: string, clip: EnhancedClip, opts: EnhancedPublishOptions) {
    this.url = url
    this.clip = clip
    this.#endAt = opts.durationMs ?? 120_000
    // the server may close first (a node stopped before the test stops this): stop sending, keep why
    this.#client.onCloseCallback = () => this.#end('closed by the server')
    this.#client.onErrorCallback = (err) => this.#end(err.message)
  }

  /** Why it stopped sending, or null while it publishes. */
  get ended(): string | null {
    return this.#ended
  }

  static async start(
    url: string,
    clip: EnhancedClip,
    opts: EnhancedPublishOptions = {},
  ): Promise<EnhancedPublisher> {
    const p = new EnhancedPublisher(url, clip, opts)
    try {
      await p.#publish()
    } catch (err) {
      p.stop()
      throw err
    }
    return p
  }

  async #publish(): Promise<void> {
    const c = this.#client
    const name = new URL(this.url).pathname.split('/').slice(2).join('/')
    await c.connect(this.url)
    await c.sendConnect()
    this.#streamId = await c.sendCreateStream()
    await c.sendPublish(name)
    const { fourcc, width, height, fps } = this.clip
    c.sendMetaData({ videocodecid: fourccId(fourcc), width, height, framerate: fps })
    this.#sendVideo(0, enhancedVideoTag(fourcc, PACKET_TYPE.sequenceStart, true, this.clip.config), true)
    this.#startedAt = performance.now()
    this.#tick()
  }

  /** Sends every frame that is due, then sleeps until the next one. */
  #tick(): void {
    const { samples, durationMs, fourcc } = this.clip
    const elapsed = performance.now() - this.#startedAt
    for (;;) {
      const loop = Math.floor(this.#next / samples.length)
      const s = samples[this.#next % samples.length]
      if (s === undefined || this.#ended !== null) return
      const dts = loop * durationMs + s.dts
      if (dts > this.#endAt) return
      if (dts > elapsed) {
        this.#timer = setTimeout(() => this.#tick(), dts - elapsed)
        return
      }
      this.#sendVideo(dts, frameTag(fourcc, s.key, s.data, s.cts), s.key)
      this.#next++
    }
  }

  #sendVideo(dts: number, body: Buffer, key: boolean): void {
    const packet = new AVPacket()
    packet.codec_type = TAG_VIDEO
    packet.dts = dts
    packet.pts = dts
    packet.size = body.length
    packet.data = body
    const message = Rtmp.createMessage(packet)
    // NMS serialises media for stream 0 (meshcast's nodes patch that in their own process, not here)
    message.writeUInt32LE(this.#streamId, STREAM_ID_OFFSET)
    if (this.#ended !== null) return
    this.sent.push({ dts, body, key, sequenceStart: this.sent.length === 0 })
    try {
      this.#client.write(message)
    } catch (err) {
      this.#end((err as Error).message) // the socket went before its close event
    }
  }

  /** The video tags sent so far that are frames (not the SequenceStart). */
  frames(): SentTag[] {
    return this.sent.filter((t) => !t.sequenceStart)
  }

  /** Stops sending and closes the connection; safe to call twice. */
  stop(): void {
    this.#end('stopped')
    this.#client.disconnect()
  }

  #end(why: string): void {
    this.#ended ??= why
    if (this.#timer !== null) clearTimeout(this.#timer)
  }
}
