// A player that really decodes, beside the probe on a kept player: the probe
// says when frames arrive, this says whether a decoder can use them.
// packages/testing's play() only reports once ffmpeg has exited and keeps its
// complaints as one string; here they are timed, to tell a complaint after an
// origin's loss from one before it.
import type { ChildProcess } from 'node:child_process'
import { spawnFfmpeg } from '@meshcast/node/ffmpeg'
import { track } from './children.ts'

/** What ffmpeg's H.264 decoder (or demuxer) says when a frame cannot be decoded cleanly. */
const DECODE_TROUBLE =
  /\[h264 @|error while decoding|concealing|non.?monoton|Invalid data|missing picture|reference picture/i
// showinfo prints one line a decoded video frame: "... n:   3 pts:   3072 pts_time:0.12 ..."
const SHOWINFO = /\bn:\s*(\d+)\s+pts:\s*-?\d+\s+pts_time:(-?[\d.]+)/

export interface DecoderReport {
  /** ffmpeg ended by itself (the server closed, or told it the stream stopped) */
  exited: boolean
  decodedFrames: number
  decodedAfter: number
  troubleAfter: number
  troubleBefore: number
  troubleSample: string[]
  nonMonotonicPts: number
}

/**
 * ffmpeg reading RTMP, decoding every video frame (showinfo), writing
 * nothing. What it says about the stream (decoder errors, timestamps) is
 * kept with the time it said it.
 */
export class FfmpegPlayer {
  readonly url: string
  readonly frames: { at: number; pts: number }[] = []
  readonly trouble: { at: number; line: string }[] = []
  exitedAt: number | null = null
  #child: ChildProcess | null = null
  #stopping = false

  private constructor(url: string) {
    this.url = url
  }

  static async start(url: string): Promise<FfmpegPlayer> {
    const player = new FfmpegPlayer(url)
    const args = ['-hide_banner', '-nostdin', '-loglevel', 'info', '-i', url]
    args.push('-map', '0:v:0', '-vf', 'showinfo', '-f', 'null', '-')
    const child = track(await spawnFfmpeg(args))
    player.#child = child
    let partial = ''
    child.stderr?.setEncoding('utf8').on('data', (text: string) => {
      const at = performance.now()
      const lines = (partial + text).split('\n')
      partial = lines.pop() ?? ''
      for (const line of lines) {
        const m = SHOWINFO.exec(line)
        if (m !== null) player.frames.push({ at, pts: Number(m[2]) })
        else if (DECODE_TROUBLE.test(line)) player.trouble.push({ at, line: line.slice(0, 200) })
      }
    })
    child.once('exit', () => {
      if (!player.#stopping) player.exitedAt = performance.now()
    })
    return player
  }

  /** Decoded frames whose pts did not increase. */
  get nonMonotonic(): number {
    let n = 0
    for (let i = 1; i < this.frames.length; i++)
      if ((this.frames[i]?.pts ?? 0) <= (this.frames[i - 1]?.pts ?? 0)) n++
    return n
  }

  async stop(): Promise<void> {
    this.#stopping = true
    const child = this.#child
    if (child === null || child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise((r) => child.once('exit', r))
    child.kill('SIGKILL')
    await exited
  }

  /** A summary from `since` (performance.now()) on. */
  report(since: number): DecoderReport {
    const after = this.frames.filter((f) => f.at > since)
    return {
      exited: this.exitedAt !== null,
      decodedFrames: this.frames.length,
      decodedAfter: after.length,
      troubleAfter: this.trouble.filter((t) => t.at > since).length,
      troubleBefore: this.trouble.filter((t) => t.at <= since).length,
      troubleSample: this.trouble
        .filter((t) => t.at > since - 1000)
        .slice(0, 6)
        .map((t) => t.line),
      nonMonotonicPts: this.nonMonotonic,
    }
  }
}
