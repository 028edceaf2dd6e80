// The benchmark's RTMP player. packages/testing's playRtmpTags copies every
// tag, stamps it with Date.now() and never acknowledges the server's window;
// fifty of these in one process must cost little and time a first frame to
// a tenth of a millisecond, so this one keeps counts and times only.

import { TAG_AUDIO, TAG_VIDEO } from '../../packages/interface/src/flv.ts'
import { AUDIO_FRAME, INTER_FRAME, KEYFRAME, VIDEO_HEADER } from '../../packages/media/src/flv/flv-kinds.ts'
import { type AVPacket, RtmpClient } from '../../packages/media/src/nms/nms.ts'
import { errorText } from '../lib.ts'

/** onStatus codes after which ffmpeg stops playing (rtmpproto.c: STATE_STOPPED), or that refuse the play. */
const END_STATUS = /UnpublishNotify|Play\.Stop|StreamNotFound|Play\.Failed/
/** User control event 1: StreamEOF. */
const STREAM_EOF = 1

export interface VideoFrame {
  /** performance.now() at arrival */
  at: number
  dts: number
  key: boolean
}

/** A timestamp that went back (video: or repeated). */
export interface Backwards {
  kind: 'video' | 'audio'
  at: number
  from: number
  to: number
}

/**
 * An RTMP player: NMS's RtmpClient, acknowledging the server's window as
 * bytes arrive (as meshcast's PullClient does; NMS's own only does it on a
 * control message), TCP_NODELAY, and recording what arrives and when. It
 * never gives up by itself: only the socket closing ends it.
 */
export class RtmpProbe extends RtmpClient {
  readonly url: string
  /** keep every video frame (kept players); else only counts */
  readonly keep: boolean
  t0 = 0
  playStartAt: number | null = null
  firstVideoHeaderAt: number | null = null
  firstKeyAt: number | null = null
  /** the first keyframe came after a video sequence header */
  firstKeyDecodable = false
  videoFrames = 0
  audioFrames = 0
  readonly frames: VideoFrame[] = []
  readonly backwards: Backwards[] = []
  readonly statuses: { at: number; code: string }[] = []
  readonly userEvents: { at: number; type: number }[] = []
  closedAt: number | null = null
  error: string | null = null
  #closing = false
  readonly #lastDts = { video: Number.NEGATIVE_INFINITY, audio: Number.NEGATIVE_INFINITY }
  #keyWaiters: (() => void)[] = []

  constructor(url: string, keep = false) {
    super()
    this.url = url
    this.keep = keep
    this.onPacketCallback = (p: AVPacket) => this.#packet(p)
    this.onStatusCallback = (code: string) => {
      const at = performance.now()
      this.statuses.push({ at, code })
      if (code === 'NetStream.Play.Start') this.playStartAt ??= at
    }
    this.onCloseCallback = () => {
      if (!this.#closing) this.closedAt ??= performance.now()
      this.#wake()
    }
    this.onErrorCallback = (err: Error) => {
      if (!this.#closing) this.error ??= err.message
    }
    const handle = this.handleData
    this.handleData = (data: Buffer) => {
      try {
        handle(data)
      } catch (err) {
        this.error ??= `bad data from the server: ${errorText(err)}`
        this.socket?.destroy()
        return
      }
      if (this.ackSize > 0 && this.receivedBytes - this.lastAckBytes >= this.ackSize) {
        this.lastAckBytes = this.receivedBytes
        this.sendACK(this.receivedBytes >>> 0)
      }
    }
  }

  start(): this {
    this.t0 = performance.now()
    this.connect(this.url)
      .then(() => this.sendConnect())
      .then(() => this.sendCreateStream())
      .then(() => this.sendPlay(this.urlInfo?.streamName ?? ''))
      .catch((err: unknown) => {
        if (!this.#closing) this.error ??= errorText(err)
      })
    this.socket?.setNoDelay(true)
    return this
  }

  close(): void {
    this.#closing = true
    this.socket?.destroy()
    this.#wake()
  }

  /** ms from start to the first video keyframe; null when none within `timeoutMs` or the socket closed. */
  firstKey(timeoutMs: number): Promise<number | null> {
    const result = () => (this.firstKeyAt === null ? null : this.firstKeyAt - this.t0)
    if (this.firstKeyAt !== null || this.closedAt !== null) return Promise.resolve(result())
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs)
      function done() {
        clearTimeout(timer)
        resolve(result())
      }
      this.#keyWaiters.push(done)
    })
  }

  /** Signals after which a player such as ffmpeg stops, at or after `since`. */
  endSignals(since: number): string[] {
    return [
      ...this.statuses.filter((s) => s.at >= since && END_STATUS.test(s.code)).map((s) => s.code),
      ...this.userEvents.filter((e) => e.at >= since && e.type === STREAM_EOF).map(() => 'StreamEOF'),
    ]
  }

  override write(buffer: Buffer): void {
    const socket = this.socket
    if (socket === null || socket.destroyed || !socket.writable) return
    socket.write(buffer)
  }

  override eventHandler(): void {
    const { header, payload } = this.parserPacket
    if (header.length >= 2) this.userEvents.push({ at: performance.now(), type: payload.readUInt16BE(0) })
    super.eventHandler()
  }

  #packet(p: AVPacket): void {
    const at = performance.now()
    if (p.codec_type === TAG_VIDEO) {
      if (p.flags === VIDEO_HEADER) {
        this.firstVideoHeaderAt ??= at
        return
      }
      if (p.flags !== KEYFRAME && p.flags !== INTER_FRAME) return
      const key = p.flags === KEYFRAME
      if (key && this.firstKeyAt === null) {
        this.firstKeyAt = at
        this.firstKeyDecodable = this.firstVideoHeaderAt !== null
        this.#wake()
      }
      this.videoFrames++
      if (p.dts <= this.#lastDts.video)
        this.backwards.push({ kind: 'video', at, from: this.#lastDts.video, to: p.dts })
      this.#lastDts.video = p.dts
      if (this.keep) this.frames.push({ at, dts: p.dts, key })
    } else if (p.codec_type === TAG_AUDIO && p.flags === AUDIO_FRAME) {
      this.audioFrames++
      if (p.dts < this.#lastDts.audio)
        this.backwards.push({ kind: 'audio', at, from: this.#lastDts.audio, to: p.dts })
      this.#lastDts.audio = p.dts
    }
  }

  #wake(): void {
    const waiters = this.#keyWaiters
    this.#keyWaiters = []
    for (const w of waiters) w()
  }
}

/** Starts a kept player and waits for its first keyframe (a warm edge keeps its pull while someone watches). */
export async function keeper(url: string, what: string): Promise<RtmpProbe> {
  const probe = new RtmpProbe(url).start()
  if ((await probe.firstKey(20_000)) === null) {
    probe.close()
    throw new Error(`no keyframe at ${what} (${url}) within 20 s: ${probe.error ?? 'nothing'}`)
  }
  return probe
}

/** What a player of `url` gets: ms to its first keyframe (null: none within `timeoutMs`), then it leaves. */
export async function peek(
  url: string,
  timeoutMs: number,
): Promise<{ keyMs: number | null; decodable: boolean }> {
  const probe = new RtmpProbe(url).start()
  try {
    const keyMs = await probe.firstKey(timeoutMs)
    return { keyMs, decodable: probe.firstKeyDecodable }
  } finally {
    probe.close()
  }
}
