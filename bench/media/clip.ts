// A clip encoded once and published as many streams without encoding again
// (`ffmpeg -c copy`, looped in real time): fifty streams cost fifty demuxers,
// not fifty encoders, so the servers' CPU is what the box spends on them.
import { spawn } from 'node:child_process'
import { statSync } from 'node:fs'
import { join } from 'node:path'
import { ffmpegPath, testPatternArgs } from '@meshcast/node/ffmpeg'
import { track } from './children.ts'

export interface Clip {
  file: string
  seconds: number
  /** what the file carries, audio and video (kbit/s) */
  kbps: number
}

/** The test pattern at a constant `bitrate` (ffmpeg's units: `2000k`), `seconds` long, into `dir`. */
export async function encodeClip(dir: string, bitrate: string, seconds: number): Promise<Clip> {
  const file = join(dir, `clip-${bitrate}.flv`)
  const args = testPatternArgs(file, { seconds, videoBitrate: bitrate }).filter((a) => a !== '-re')
  const child = track(spawn(ffmpegPath(), ['-y', ...args], { stdio: ['ignore', 'ignore', 'pipe'] }))
  let err = ''
  child.stderr?.on('data', (d) => {
    err += d
  })
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  if (code !== 0) throw new Error(`ffmpeg could not encode the clip (exit ${code}): ${err.slice(-400)}`)
  return { file, seconds, kbps: Math.round((statSync(file).size * 8) / seconds / 1000) }
}

/** Publishes `clip` to `url`, looped in real time; the process is tracked (killed when the benchmark exits). */
export function replay(clip: Clip, url: string) {
  const args = [
    '-hide_banner',
    '-nostdin',
    '-loglevel',
    'error',
    '-re',
    '-stream_loop',
    '-1',
    '-i',
    clip.file,
  ]
  return track(spawn(ffmpegPath(), [...args, '-c', 'copy', '-f', 'flv', url], { stdio: 'ignore' }))
}
