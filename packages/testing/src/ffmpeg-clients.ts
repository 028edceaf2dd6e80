import { type ChildProcess, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { ffmpegPath, spawnFfmpeg, type TestPatternOptions, testPatternArgs } from '@meshcast/node/ffmpeg'
import { childEnded } from './child-end.ts'

/** Rewrites ffmpeg's command line, e.g. `(argv) => lan.wrap(i, argv)` to run it on LAN host i. */
export type Wrap = (argv: string[]) => string[]

/** A frame a player decoded: its presentation time and when it arrived. */
export interface FrameInfo {
  n: number
  /** presentation time in seconds */
  pts: number
  /** Date.now() when ffmpeg reported it */
  at: number
}

export interface PlayResult {
  frames: FrameInfo[]
  code: number | null
  signal: NodeJS.Signals | null
  stderr: string
  startedAt: number
}

export interface PlayOptions {
  /** stop after this many video frames */
  frames?: number
  /** kill the player after this long (ms); default 15 s */
  timeout?: number
  wrap?: Wrap
  /** called with each frame as it arrives (e.g. to act once the player is well under way) */
  onFrame?: (frame: FrameInfo) => void
}

export interface PublishOptions extends TestPatternOptions {
  wrap?: Wrap
}

export const DEFAULT_PLAY_TIMEOUT_MS = 15_000

/** An ffmpeg publishing a test pattern (H.264 + AAC, 1 s keyframe interval). */
export class Publisher {
  readonly url: string
  readonly child: ChildProcess
  readonly exited: Promise<number | null>
  #stderr = ''

  constructor(url: string, child: ChildProcess) {
    this.url = url
    this.child = child
    child.stderr?.setEncoding('utf8').on('data', (t: string) => {
      this.#stderr += t
    })
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)))
  }

  get stderr(): string {
    return this.#stderr
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM')
    await this.exited
  }
}

export async function publish(url: string, opts: PublishOptions = {}): Promise<Publisher> {
  return new Publisher(url, await spawnWrapped(testPatternArgs(url, opts), opts.wrap))
}

/** spawnFfmpeg, or ffmpeg under `wrap` (spawned the same way). */
async function spawnWrapped(args: string[], wrap: Wrap | undefined): Promise<ChildProcess> {
  if (wrap === undefined) return await spawnFfmpeg(args)
  const [file, ...rest] = wrap([ffmpegPath(), ...args])
  if (file === undefined) throw new RangeError('wrap returned an empty command')
  const child = spawn(file, rest, { stdio: ['ignore', 'pipe', 'pipe'] })
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve)
    child.once('error', reject)
  })
  return child
}

// showinfo prints one line a decoded video frame: "... n:   3 pts:   3072 pts_time:0.12 ..."
const SHOWINFO = /\bn:\s*(\d+)\s+pts:\s*-?\d+\s+pts_time:(-?[\d.]+)/

/**
 * Plays an RTMP URL with ffmpeg, decoding every video frame, and reports the
 * frames with their arrival times. Resolves when ffmpeg exits (frame count
 * reached, stream ended, or timeout).
 */
export async function play(url: string, opts: PlayOptions = {}): Promise<PlayResult> {
  const args = [
    '-hide_banner',
    '-nostdin',
    '-loglevel',
    'info',
    '-i',
    url,
    '-map',
    '0:v:0',
    '-vf',
    'showinfo',
  ]
  if (opts.frames !== undefined) args.push('-frames:v', String(opts.frames))
  args.push('-f', 'null', '-')
  const startedAt = Date.now()
  const child = await spawnWrapped(args, opts.wrap)
  const frames: FrameInfo[] = []
  let stderr = ''
  child.stderr?.setEncoding('utf8').on('data', (text: string) => {
    stderr += text
  })
  if (child.stderr)
    createInterface({ input: child.stderr, crlfDelay: Number.POSITIVE_INFINITY }).on('line', (line) => {
      const m = SHOWINFO.exec(line)
      if (m === null) return
      const frame = { n: Number(m[1]), pts: Number(m[2]), at: Date.now() }
      frames.push(frame)
      opts.onFrame?.(frame)
    })
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeout ?? DEFAULT_PLAY_TIMEOUT_MS)
  const { code, signal } = await childEnded(child)
  clearTimeout(timer)
  return { frames, code, signal, stderr, startedAt }
}
