import { type ChildProcess, spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import type { Logger } from '@meshcast/interface'
import { MeshcastError } from '@meshcast/interface'

/** ffmpeg cannot be found: neither MESHCAST_FFMPEG, the bundled one, nor one on PATH. */
export class FfmpegMissingError extends MeshcastError {
  constructor(options?: ErrorOptions) {
    super('ffmpeg not found: install it (apt-get install ffmpeg) or set MESHCAST_FFMPEG to its path', options)
    this.name = 'FfmpegMissingError'
  }
}

/**
 * The ffmpeg to run: $MESHCAST_FFMPEG, else the static build shipped in the
 * npm package @ffmpeg-installer/ffmpeg (so nothing needs a system install),
 * else `ffmpeg` from PATH.
 */
export function ffmpegPath(): string {
  const fromEnv = process.env.MESHCAST_FFMPEG
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv
  try {
    const installer = createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg') as { path: string }
    return installer.path
  } catch {
    return 'ffmpeg'
  }
}

/** Test pattern + 440 Hz tone. */
export interface TestPatternOptions {
  /** frames per second; the keyframe interval is one second of frames */
  fps?: number
  size?: string
  /** stop after this many seconds; default: run until stopped */
  seconds?: number
  /**
   * a constant video bitrate (ffmpeg's units: `3000k`): the pattern gets
   * noise so there is picture to spend it on; default: what x264 makes of it
   */
  videoBitrate?: string
}

export const DEFAULT_TEST_FPS = 25
export const DEFAULT_TEST_SIZE = '640x360'

/** ffmpeg arguments that publish a live test pattern (H.264 + AAC, 1 s GOP) to an RTMP URL. */
export function testPatternArgs(url: string, opts: TestPatternOptions = {}): string[] {
  const fps = opts.fps ?? DEFAULT_TEST_FPS
  const size = opts.size ?? DEFAULT_TEST_SIZE
  const duration = opts.seconds === undefined ? [] : ['-t', String(opts.seconds)]
  return [
    ...['-hide_banner', '-nostdin', '-loglevel', 'warning', '-re'],
    ...['-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=${fps}`],
    ...['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100'],
    ...duration,
    ...(opts.videoBitrate === undefined ? [] : constantRate(opts.videoBitrate)),
    ...['-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p'],
    ...['-g', String(fps), '-keyint_min', String(fps), '-sc_threshold', '0'],
    ...['-c:a', 'aac', '-b:a', '64k', '-ar', '44100'],
    ...['-f', 'flv', url],
  ]
}

/** Noise to spend the bits on, and x264 held to `rate` (filler data where the picture needs less). */
function constantRate(rate: string): string[] {
  return [
    ...['-vf', 'noise=alls=40:allf=t'],
    ...['-b:v', rate, '-minrate', rate, '-maxrate', rate, '-bufsize', rate],
    ...['-x264-params', 'nal-hrd=cbr'],
  ]
}

/** Runs ffmpeg with `args`; rejects early with FfmpegMissingError when it cannot be started. */
export async function spawnFfmpeg(args: string[]): Promise<ChildProcess> {
  const child = spawn(ffmpegPath(), args, { stdio: ['ignore', 'pipe', 'pipe'] })
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve)
    child.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'ENOENT' ? new FfmpegMissingError({ cause: err }) : err),
    )
  })
  return child
}

/** What ffmpeg says when it is told to stop: expected at shutdown, not worth a warning. */
const SHUTDOWN_CHATTER =
  /Immediate exit requested|Failed to update header|Error writing trailer|Exiting normally/

/** A running test-pattern publisher whose stderr goes to the logger. */
export async function startTestPublisher(url: string, logger: Logger): Promise<ChildProcess> {
  const child = await spawnFfmpeg(testPatternArgs(url))
  child.stderr?.setEncoding('utf8').on('data', (text: string) => {
    for (const raw of text.split('\n')) {
      const line = raw.trim()
      if (line !== '') logger[SHUTDOWN_CHATTER.test(line) ? 'debug' : 'warn'](line)
    }
  })
  child.once('exit', (code, signal) => logger.info('test publisher exited', { code, signal }))
  return child
}
