// A short HEVC, AV1 or VP9 clip for the Enhanced RTMP publisher: encoded to MP4
// by Debian's ffmpeg (5.1 encodes them all, but cannot send them over RTMP: that
// arrived in 6.1), then read back with mp4box into a codec configuration
// record and samples, which is what an Enhanced RTMP video tag carries.
import { spawnSync } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createFile, MP4BoxBuffer } from 'mp4box'
import { FOREIGN_PATHS, foreignMissing } from './foreign.ts'
import { ForeignProcess } from './foreign-run.ts'

/** The codecs Debian's ffmpeg can encode that Enhanced RTMP names by FourCC. */
export type EnhancedCodec = 'hevc' | 'av1' | 'vp9'

/** Each codec's FourCC in the tags, the ffmpeg encoder, and the MP4 box holding its configuration record. */
export const ENHANCED_CODECS = {
  hevc: { fourcc: 'hvc1', encoder: 'libx265', box: 'hvcC' },
  av1: { fourcc: 'av01', encoder: 'libsvtav1', box: 'av1C' },
  vp9: { fourcc: 'vp09', encoder: 'libvpx-vp9', box: 'vpcC' },
} as const

export interface ClipOptions {
  /** picture size, default 320x240 */
  width?: number
  height?: number
  /** default 25 */
  fps?: number
  /** default 4; the GOP is 1 s */
  seconds?: number
  /**
   * AV1 only. true (default): SVT-AV1's defaults, as OBS sends. false:
   * libaom-av1 with `enable-order-hint=0`, the only AV1 that mpegts.js
   * 1.8.2 parses (its frame header parser loses its place at every shown
   * keyframe of a sequence with order hints: see the test's notes).
   */
  orderHints?: boolean
}

/** One coded frame: milliseconds, as FLV counts. */
export interface ClipSample {
  dts: number
  /** presentation minus decoding time (B-frames), ms */
  cts: number
  key: boolean
  /** HEVC: length-prefixed NAL units; AV1: low-overhead OBUs (as MP4 and Enhanced RTMP carry them) */
  data: Buffer
}

export interface EnhancedClip {
  codec: EnhancedCodec
  fourcc: string
  width: number
  height: number
  fps: number
  /**
   * the hvcC / av1C / vpcC box's payload, what the SequenceStart carries
   * after its FourCC (vpcC's with its FullBox version and flags, as
   * ffmpeg's FLV muxer writes it)
   */
  config: Buffer
  /** in decoding order, the first a keyframe */
  samples: ClipSample[]
  /** how far the next loop's timestamps are shifted: last dts plus one frame */
  durationMs: number
}

/** A box's 32-bit size and its type (ffmpeg writes no 64-bit sizes for these small boxes). */
const BOX_HEADER = 8

const encoders = new Map<string, boolean>()

/** The encoder ffmpeg runs for a clip. */
function encoderOf(codec: EnhancedCodec, opts: ClipOptions): string {
  return codec === 'av1' && opts.orderHints === false ? 'libaom-av1' : ENHANCED_CODECS[codec].encoder
}

/** Why `codec` cannot be encoded here (no Debian ffmpeg, or it lacks the encoder), or null. */
export function enhancedEncoderMissing(codec: EnhancedCodec, opts: ClipOptions = {}): string | null {
  const ffmpeg = foreignMissing('ffmpeg')
  if (ffmpeg !== null) return ffmpeg
  const encoder = encoderOf(codec, opts)
  if (!encoders.has(encoder)) {
    const out = spawnSync(FOREIGN_PATHS.ffmpeg, ['-hide_banner', '-encoders'], { encoding: 'utf8' })
    encoders.set(encoder, new RegExp(`\\s${encoder}\\s`).test(out.stdout ?? ''))
  }
  return encoders.get(encoder) === true
    ? null
    : `${FOREIGN_PATHS.ffmpeg} has no ${encoder} encoder (Debian's ffmpeg has it)`
}

/** ffmpeg's output options: a 1 s closed GOP (a player joining at any keyframe decodes it). */
function encoderArgs(codec: EnhancedCodec, fps: number, opts: ClipOptions): string[] {
  if (encoderOf(codec, opts) === 'libaom-av1') {
    const aom = ['-usage', 'realtime', '-cpu-used', '8', '-aom-params', 'enable-order-hint=0']
    return ['-c:v', 'libaom-av1', ...aom, '-g', String(fps)]
  }
  if (codec === 'vp9')
    return ['-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-g', String(fps)]
  if (codec === 'hevc') {
    const x265 = `keyint=${fps}:min-keyint=${fps}:scenecut=0:open-gop=0:log-level=error`
    return ['-c:v', 'libx265', '-preset', 'ultrafast', '-x265-params', x265, '-tag:v', 'hvc1']
  }
  return ['-c:v', 'libsvtav1', '-preset', '12', '-g', String(fps)]
}

/** Encodes testsrc2 into `dir/<codec>.mp4` with Debian's ffmpeg; resolves its path. */
export async function encodeClip(codec: EnhancedCodec, dir: string, opts: ClipOptions = {}): Promise<string> {
  const { width = 320, height = 240, fps = 25, seconds = 4 } = opts
  const file = join(dir, `${codec}-${encoderOf(codec, opts)}.mp4`)
  const run = new ForeignProcess(
    [
      FOREIGN_PATHS.ffmpeg,
      ...['-hide_banner', '-loglevel', 'error', '-nostdin', '-y'],
      ...['-f', 'lavfi', '-i', `testsrc2=size=${width}x${height}:rate=${fps}`, '-t', String(seconds)],
      ...['-pix_fmt', 'yuv420p', ...encoderArgs(codec, fps, opts), '-an', file],
    ],
    { env: { SVT_LOG: '1' } }, // SVT-AV1 prints its banner whatever ffmpeg's log level; 1 = errors only
  )
  const exit = await run.exited
  if (exit.code !== 0)
    throw new Error(`ffmpeg could not encode the ${codec} clip (${exit.code}): ${run.output()}`)
  return file
}

/** Reads an MP4's first video track into the record and samples Enhanced RTMP sends. */
export async function readClip(codec: EnhancedCodec, file: string): Promise<EnhancedClip> {
  const bytes = await readFile(file)
  const mp4 = createFile()
  mp4.appendBuffer(MP4BoxBuffer.fromArrayBuffer(bytes.buffer.slice(0), 0))
  mp4.flush()
  const track = mp4.getInfo().videoTracks[0]
  if (track === undefined) throw new Error(`${file}: no video track`)
  const { box: boxName, fourcc } = ENHANCED_CODECS[codec]
  const entry = mp4.getTrackById(track.id).mdia.minf.stbl.stsd.entries[0] as unknown as Record<
    string,
    unknown
  >
  const box = entry[boxName] as { start?: number; size: number } | undefined
  if (box?.start === undefined) throw new Error(`${file}: no ${boxName} box`)
  const ms = (t: number) => Math.round((t * 1000) / track.timescale)
  const samples = mp4.getTrackSamplesInfo(track.id).map((s) => ({
    dts: ms(s.dts),
    cts: ms(s.cts) - ms(s.dts),
    key: s.is_sync,
    data: bytes.subarray(s.offset, s.offset + s.size),
  }))
  const first = samples[0]
  const last = samples.at(-1)
  if (first === undefined || last === undefined || !first.key) throw new Error(`${file}: no keyframe first`)
  const step = (last.dts - first.dts) / Math.max(1, samples.length - 1)
  return {
    codec,
    fourcc,
    width: track.video?.width ?? 0,
    height: track.video?.height ?? 0,
    fps: Math.round(1000 / step),
    // after the 8-byte size and type (mp4box's hdr_size would also skip a FullBox's version and flags)
    config: bytes.subarray(box.start + BOX_HEADER, box.start + box.size),
    samples,
    durationMs: last.dts + Math.round(step),
  }
}

/** Encodes and reads a clip in one call. */
export async function makeClip(
  codec: EnhancedCodec,
  dir: string,
  opts: ClipOptions = {},
): Promise<EnhancedClip> {
  return readClip(codec, await encodeClip(codec, dir, opts))
}
