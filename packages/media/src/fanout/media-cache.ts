// What a stream keeps for the players that come next: its metadata, its
// sequence headers and the GOP since the last video keyframe (as
// node-media-server keeps them), or a single-track stream's startup burst
// (startup-burst.ts). Each message is kept once, as its FLV tag, with its
// RTMP form built the first time an RTMP player needs it: a stream nobody
// watches costs one copy of each message, not NMS's two zero-filled ones.
import { PREVIOUS_TAG_SIZE_BYTES, TAG_HEADER_BYTES } from '@meshcast/interface'
import { AUDIO_FRAME, AUDIO_HEADER, INTER_FRAME, KEYFRAME, METADATA, VIDEO_HEADER } from '../flv/flv-kinds.ts'
import type { BroadcastServer } from '../nms/nms.ts'
import { MEDIA_STREAM_ID } from '../rtmp/rtmp-stream-id.ts'
import { AUDIO_BURST_BYTES, AUDIO_BURST_MS, VIDEO_BURST_BYTES, VIDEO_BURST_MS } from '../startup-burst.ts'
import { flvTag, rtmpMessage } from './tags.ts'

/** A GOP longer than this many messages is dropped (NMS's bound: a stream whose keyframes stopped). */
const MAX_GOP_MESSAGES = 4096

/** One message as sent: NMS's `flags` (flv-kinds.ts), its FLV tag, its RTMP form once built. */
export class Cached {
  readonly type: number
  readonly flags: number
  readonly dts: number
  readonly size: number
  readonly flv: Buffer
  #rtmp: Buffer | null = null

  constructor(type: number, flags: number, dts: number, body: Buffer, size: number) {
    this.type = type
    this.flags = flags
    this.dts = dts
    this.size = size
    this.flv = flvTag(type, dts, body, size)
  }

  /** The message body (a view into the FLV tag). */
  get body(): Buffer {
    return this.flv.subarray(TAG_HEADER_BYTES, TAG_HEADER_BYTES + this.size)
  }

  /** The RTMP message, for `MEDIA_STREAM_ID`; built once. */
  get rtmp(): Buffer {
    this.#rtmp ??= rtmpMessage(this.type, this.dts, this.body, this.size, MEDIA_STREAM_ID)
    return this.#rtmp
  }

  get bytes(): number {
    return this.flv.length
  }
}

/** Which burst a stream keeps: it has one track only, and which (null: both, or not known yet). */
export type SingleTrack = 'audio' | 'video' | null

export class MediaCache {
  metadata: Cached | null = null
  audioHeader: Cached | null = null
  videoHeader: Cached | null = null
  /** from the last video keyframe on; null before the first one */
  #gop: Cached[] | null = null
  /** a video-only stream: whole GOPs before the current one, oldest first */
  #earlier: Cached[][] = []
  /** an audio-only stream: its last audio frames */
  #audio: Cached[] = []
  #audioBytes = 0
  #single: SingleTrack = null

  /** Keeps `c` as a stream whose tracks are `single` keeps it. */
  add(c: Cached, single: SingleTrack): void {
    if (single !== this.#single) this.dropBurst()
    this.#single = single
    switch (c.flags) {
      case METADATA:
        this.metadata = c
        return
      case AUDIO_HEADER:
        this.audioHeader = c
        return
      case VIDEO_HEADER:
        this.videoHeader = c
        return
      case KEYFRAME:
        this.#newGop(c)
        return
      case AUDIO_FRAME:
        if (single === 'audio') this.#keepAudio(c)
        else this.#addToGop(c)
        return
      case INTER_FRAME:
        this.#addToGop(c)
    }
  }

  /**
   * What a new player gets, in order: metadata, sequence headers, then the
   * burst and the current GOP. A cluster pull gets no burst: only the GOP
   * since the last keyframe (an audio-only stream: nothing).
   */
  forPlayer(pull: boolean): Cached[] {
    const out: Cached[] = []
    if (this.metadata !== null) out.push(this.metadata)
    if (this.audioHeader !== null) out.push(this.audioHeader)
    if (this.videoHeader !== null) out.push(this.videoHeader)
    if (!pull) {
      for (const gop of this.#earlier) out.push(...gop)
      out.push(...this.#audio)
    }
    if (this.#gop !== null) out.push(...this.#gop)
    return out
  }

  /** The newest media message kept (for tests and figures), or null. */
  newest(): Cached | null {
    return this.#gop?.at(-1) ?? this.#audio.at(-1) ?? null
  }

  /** Forgets the burst (the stream got another track, a new publisher or upstream); the current GOP stays. */
  dropBurst(): void {
    this.#earlier = []
    this.#audio = []
    this.#audioBytes = 0
  }

  /** Forgets everything: the publish ended. */
  clear(): void {
    this.metadata = null
    this.audioHeader = null
    this.videoHeader = null
    this.#gop = null
    this.#single = null
    this.dropBurst()
  }

  #newGop(keyframe: Cached): void {
    if (this.#single === 'video' && this.#gop !== null && this.#gop.length > 0) {
      this.#earlier.push(this.#gop)
      this.#earlier = this.#earlier.filter((g) => keyframe.dts - (g[0] as Cached).dts <= VIDEO_BURST_MS)
      while (this.#earlier.length > 0 && bytesOf(this.#earlier) > VIDEO_BURST_BYTES) this.#earlier.shift()
    } else {
      this.#earlier = []
    }
    this.#gop = [keyframe]
  }

  #addToGop(c: Cached): void {
    const gop = this.#gop
    if (gop === null) return
    gop.push(c)
    if (gop.length > MAX_GOP_MESSAGES) this.#gop = []
  }

  /** Icecast's burst-on-connect: the last AUDIO_BURST_BYTES of audio frames, at most AUDIO_BURST_MS of them. */
  #keepAudio(c: Cached): void {
    this.#audio.push(c)
    this.#audioBytes += TAG_HEADER_BYTES + c.size + PREVIOUS_TAG_SIZE_BYTES
    let drop = 0
    for (const old of this.#audio) {
      if (this.#audioBytes <= AUDIO_BURST_BYTES && c.dts - old.dts <= AUDIO_BURST_MS) break
      this.#audioBytes -= old.bytes
      drop++
    }
    if (drop > 0) this.#audio.splice(0, drop)
  }
}

function bytesOf(gops: readonly Cached[][]): number {
  let n = 0
  for (const g of gops) for (const c of g) n += c.bytes
  return n
}

const caches = new WeakMap<BroadcastServer, MediaCache>()

/** The cache of `b` (made on first use). */
export function cacheOf(b: BroadcastServer): MediaCache {
  let c = caches.get(b)
  if (c === undefined) {
    c = new MediaCache()
    caches.set(b, c)
  }
  return c
}

/** The cache of `b` if it has one. */
export function cacheIfAny(b: BroadcastServer): MediaCache | undefined {
  return caches.get(b)
}
