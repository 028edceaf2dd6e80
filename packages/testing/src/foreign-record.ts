import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type FlvSummary, summarizeFlv } from './flv-file.ts'
import { FOREIGN_PATHS } from './foreign.ts'
import { ForeignProcess, untilOr } from './foreign-run.ts'

/** What rtmpdump recorded, read back by an FLV parser and by ffprobe. */
export interface Recording {
  argv: readonly string[]
  /** the recorded file's header flags and script tags */
  flv: FlvSummary
  /** rtmpdump's own report of the metadata it got ("INFO: Metadata:" and the lines after it) */
  metadataLines: string[]
  /** frames ffprobe decoded from the file, per track */
  videoFrames: number
  audioFrames: number
  /** `format.tags` as ffprobe read them (from the file's onMetaData) */
  tags: Record<string, string>
  /** rtmpdump's WARNING/ERROR lines and ffprobe's warnings */
  warnings: string[]
  log: string
}

/** Runs ffprobe with `-count_frames` on a file: decoded frames per track and the format's tags. */
async function probe(file: string): Promise<{ json: ProbeJson; warnings: string[] }> {
  const child = spawn(
    FOREIGN_PATHS.ffprobe,
    ['-v', 'warning', '-count_frames', '-show_streams', '-show_format', '-of', 'json', file],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let out = ''
  let err = ''
  child.stdout.setEncoding('utf8').on('data', (t: string) => (out += t))
  child.stderr.setEncoding('utf8').on('data', (t: string) => (err += t))
  await new Promise((resolve) => child.once('close', resolve))
  return { json: JSON.parse(out || '{}') as ProbeJson, warnings: err.split('\n').filter((l) => l !== '') }
}

interface ProbeJson {
  streams?: { codec_type: string; nb_read_frames?: string }[]
  format?: { tags?: Record<string, string> }
}

/**
 * Records a live RTMP stream with rtmpdump 2.4 for `seconds` (then SIGINT,
 * its way to stop), and reads the file back: script tag names, header
 * flags, ffprobe's decoded frame counts and metadata tags.
 */
export async function recordRtmpdump(url: string, seconds = 3): Promise<Recording> {
  const dir = mkdtempSync(join(tmpdir(), 'meshcast-rtmpdump-'))
  const file = join(dir, 'recorded.flv')
  try {
    const proc = new ForeignProcess([FOREIGN_PATHS.rtmpdump, '--live', '-r', url, '-o', file])
    await untilOr(seconds * 1000, proc.exited)
    // what it prints once told to stop (a read cut short) is not about the stream
    const stoppedAt = Date.now()
    await proc.stop('SIGINT')
    const { json, warnings } = await probe(file)
    const frames = (type: string) =>
      (json.streams ?? [])
        .filter((s) => s.codec_type === type)
        .reduce((n, s) => n + Number(s.nb_read_frames ?? 0), 0)
    const all = proc.lines.filter((l) => l.at <= stoppedAt).map((l) => l.text)
    // and nothing from its own "Caught signal" on (the same millisecond can hold both)
    const caught = all.findIndex((l) => l.includes('Caught signal'))
    const text = caught < 0 ? all : all.slice(0, caught)
    const metadataAt = text.findIndex((l) => l.includes('Metadata:'))
    return {
      argv: proc.argv,
      flv: summarizeFlv(readFileSync(file)),
      metadataLines: metadataAt < 0 ? [] : text.slice(metadataAt, metadataAt + 30),
      videoFrames: frames('video'),
      audioFrames: frames('audio'),
      tags: json.format?.tags ?? {},
      warnings: [...text.filter((l) => /^(WARNING|ERROR):/.test(l)), ...warnings.map((w) => `ffprobe: ${w}`)],
      log: proc.tail(),
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
