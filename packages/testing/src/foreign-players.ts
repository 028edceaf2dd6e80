import { chmodSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FOREIGN_PATHS } from './foreign.ts'
import { ForeignProcess, type OutputLine, untilOr } from './foreign-run.ts'
import type { Exit } from './node-process.ts'

/** When a player has decoded enough: both counts reached, or the time is up. */
export interface DecodeGoal {
  /** video frames to decode (0: do not wait for video); default 25 */
  videoFrames?: number
  /** audio frames (or buffers) to decode (0: do not wait for audio); default 25 */
  audioFrames?: number
  /** stop after this long (ms) whatever was decoded; default 10 s */
  timeout?: number
}

/** What a foreign player decoded, and what it complained about. */
export interface Decoded {
  player: string
  argv: readonly string[]
  /** decoded video frames and audio frames (GStreamer, ffmpeg) or blocks (VLC) */
  video: number
  audio: number
  /** ms from the player's start to its first decoded video / audio frame, null if none */
  firstVideoMs: number | null
  firstAudioMs: number | null
  /** presentation times (s) of the decoded video frames, where the player reports them */
  videoPts: number[]
  /** decoder and demuxer warnings and errors printed while it played (see each player's filter) */
  warnings: string[]
  exit: Exit
  /** the last lines it printed, for failure messages */
  log: string
}

export const DEFAULT_VIDEO_FRAMES = 25
export const DEFAULT_AUDIO_FRAMES = 25
export const DEFAULT_DECODE_TIMEOUT_MS = 10_000

/** Counts decoded frames as a player reports them, and says when the goal is reached. */
class DecodeCount {
  video = 0
  audio = 0
  firstVideoAt: number | null = null
  firstAudioAt: number | null = null
  readonly videoPts: number[] = []
  readonly #goal: Required<DecodeGoal>
  readonly #reached: () => void

  constructor(goal: DecodeGoal, reached: () => void) {
    this.#goal = {
      videoFrames: goal.videoFrames ?? DEFAULT_VIDEO_FRAMES,
      audioFrames: goal.audioFrames ?? DEFAULT_AUDIO_FRAMES,
      timeout: goal.timeout ?? DEFAULT_DECODE_TIMEOUT_MS,
    }
    this.#reached = reached
  }

  get timeout(): number {
    return this.#goal.timeout
  }

  /** Sets the totals (players that report totals, as VLC's stats). */
  set(kind: 'video' | 'audio', total: number, at: number): void {
    if (total <= 0) return
    if (kind === 'video') {
      this.firstVideoAt ??= at
      this.video = Math.max(this.video, total)
    } else {
      this.firstAudioAt ??= at
      this.audio = Math.max(this.audio, total)
    }
    if (this.video >= this.#goal.videoFrames && this.audio >= this.#goal.audioFrames) this.#reached()
  }

  /** One more decoded frame. */
  add(kind: 'video' | 'audio', at: number, pts?: number): void {
    if (kind === 'video' && pts !== undefined) this.videoPts.push(pts)
    this.set(kind, (kind === 'video' ? this.video : this.audio) + 1, at)
  }
}

interface PlayerSpec {
  player: string
  argv: string[]
  env?: Record<string, string>
  stdin?: boolean
  /** reads a line into the count */
  count(line: OutputLine, count: DecodeCount): void
  /** whether a line is a warning that counts (after the harmless ones are filtered) */
  warning(line: OutputLine): boolean
  /** lines a buffer that need not be kept once counted */
  noise?: (line: OutputLine) => boolean
  /** called every 250 ms while it plays (VLC asks for its stats) */
  poll?: (proc: ForeignProcess) => void
}

/** Runs a player until the goal is reached or the time is up, then SIGKILLs it. */
async function runPlayer(spec: PlayerSpec, goal: DecodeGoal): Promise<Decoded> {
  let reached: () => void = () => {}
  const done = new Promise<void>((resolve) => {
    reached = resolve
  })
  const count = new DecodeCount(goal, () => reached())
  const proc = new ForeignProcess(spec.argv, {
    ...(spec.env === undefined ? {} : { env: spec.env }),
    stdin: spec.stdin === true,
    onLine: (line) => spec.count(line, count),
    keep: (line) => !(spec.noise?.(line) ?? false),
  })
  const poller = spec.poll === undefined ? undefined : setInterval(() => spec.poll?.(proc), 250)
  await untilOr(count.timeout, Promise.race([done, proc.exited]))
  clearInterval(poller)
  // lines printed after this moment are the player's teardown, not its playing
  const stoppedAt = Date.now()
  const exit = await proc.stop()
  const since = (at: number | null) => (at === null ? null : at - proc.startedAt)
  return {
    player: spec.player,
    argv: spec.argv,
    video: count.video,
    audio: count.audio,
    firstVideoMs: since(count.firstVideoAt),
    firstAudioMs: since(count.firstAudioAt),
    videoPts: count.videoPts,
    warnings: distinct(proc.lines.filter((l) => l.at <= stoppedAt && spec.warning(l)).map((l) => l.text)),
    exit,
    log: proc.tail(),
  }
}

/**
 * Warning lines without what changes from one to the next (GStreamer's
 * clock, pid and thread, object addresses), each once with how often it
 * came: rtmp2src says the same thing for every message it drops.
 */
export function distinct(lines: readonly string[]): string[] {
  const counts = new Map<string, number>()
  for (const line of lines) {
    const key = line.replace(/^\d+:\d\d:\d\d\.\d+\s+\d+\s+0x[0-9a-f]+\s+/, '').replace(/0x[0-9a-f]+/g, '0x…')
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  return [...counts].map(([line, n]) => (n === 1 ? line : `${line} (×${n})`))
}

const matchesAny = (patterns: readonly RegExp[], text: string) => patterns.some((p) => p.test(text))

// ---------------------------------------------------------------- ffmpeg 5.1

// with `-loglevel level+info` every line carries its level: "[flv @ 0x…] [warning] …"
const FFMPEG_WARNING = /\[(warning|error|fatal|panic)\]/
// "[Parsed_showinfo_0 @ 0x…] [info] n:   3 pts:   3072 pts_time:0.12 …"; ashowinfo likewise
const FFMPEG_FRAME =
  /\[Parsed_(a?)showinfo_\d+ @ [^\]]+\] \[info\] n:\s*\d+\s+pts:\s*-?\d+\s+pts_time:(-?[\d.]+)/

/**
 * ffmpeg lines that are not about the stream: none so far. Kept as a list so
 * what is filtered is written down, not guessed.
 */
export const FFMPEG_HARMLESS: readonly RegExp[] = []

/**
 * Plays a URL (RTMP or HTTP-FLV) with Debian's ffmpeg 5.1, decoding every
 * audio and video frame (`showinfo`/`ashowinfo` report each one). Warnings:
 * every line ffmpeg prints at level warning or worse.
 */
export async function playFfmpeg(url: string, goal: DecodeGoal = {}): Promise<Decoded> {
  return await runPlayer(
    {
      player: 'ffmpeg 5.1',
      argv: [
        FOREIGN_PATHS.ffmpeg,
        ...['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'level+info', '-i', url],
        ...['-map', '0:v?', '-map', '0:a?', '-vf', 'showinfo', '-af', 'ashowinfo', '-f', 'null', '-'],
      ],
      count: (line, count) => {
        const m = FFMPEG_FRAME.exec(line.text)
        if (m !== null) count.add(m[1] === 'a' ? 'audio' : 'video', line.at, Number(m[2]))
      },
      warning: (line) => FFMPEG_WARNING.test(line.text) && !matchesAny(FFMPEG_HARMLESS, line.text),
      noise: (line) => line.text.includes('showinfo_') && !FFMPEG_WARNING.test(line.text),
    },
    goal,
  )
}

// ---------------------------------------------------------------- GStreamer 1.22

/** How GStreamer reads the stream. */
export type GstSource = 'rtmp2src' | 'rtmpsrc' | 'souphttpsrc'

// "/GstPipeline:pipeline0/GstFakeSink:video: last-message = chain   ******* (video:sink) (… bytes, dts: …, pts: 0:00:29.040000000, …"
const GST_CHAIN = /GstFakeSink:(video|audio): last-message = chain .*?pts: (?:(\d+):(\d+):([\d.]+)|none)/
// GST_DEBUG lines: "0:00:00.133  9882 0x55… WARN  flvdemux gstflvdemux.c:…"; gst-launch's own "WARNING: from element …"
const GST_WARNING = /\s(ERROR|WARN)\s|^(WARNING|ERROR): from element/
// rtmp2src drops what arrives on another message stream id at DEBUG level only: the defect packages/media's `rtmp-stream-id.ts` works around
const GST_IGNORING = /rtmp2src .*Ignoring \S+ message with stream/

/**
 * GStreamer lines that are not about the stream: gst-launch -v cannot print
 * souphttpsrc's `session` property (a GObject), and says so.
 */
export const GST_HARMLESS: readonly RegExp[] = [/No value transform to serialize field 'session'/]

function gstSourceElement(source: GstSource, url: string): string {
  // rtmpsrc is librtmp: options follow the URL, and `live=1` stops it asking to seek
  if (source === 'rtmpsrc') return `rtmpsrc location="${url} live=1"`
  if (source === 'souphttpsrc') return `souphttpsrc location=${url} is-live=true`
  return `rtmp2src location=${url}`
}

/** gst-launch's argv for a pipeline description (it re-splits one string on spaces, honouring quotes). */
function gstArgv(description: string): string[] {
  return [FOREIGN_PATHS.gstLaunch, '-v', ...(description.match(/(?:[^\s"]+|"[^"]*")+/g) ?? [])]
}

/**
 * Plays a URL with GStreamer: `source ! flvdemux`, each track through
 * `decodebin` into a `fakesink` whose every buffer gst-launch reports (-v).
 * Warnings: GST_DEBUG ERROR and WARN lines, gst-launch's WARNING/ERROR
 * messages, and rtmp2src's "Ignoring … message with stream N != M".
 */
export async function playGst(source: GstSource, url: string, goal: DecodeGoal = {}): Promise<Decoded> {
  const track = (name: string) =>
    `d.${name} ! queue ! decodebin ! fakesink name=${name} silent=false sync=false`
  return await runPlayer(
    {
      player: `GStreamer ${source}`,
      argv: gstArgv(`${gstSourceElement(source, url)} ! flvdemux name=d ${track('video')} ${track('audio')}`),
      env: { GST_DEBUG: '2,rtmp2src:5', GST_DEBUG_NO_COLOR: '1' },
      count: (line, count) => {
        const m = GST_CHAIN.exec(line.text)
        if (m === null) return
        const pts = m[2] === undefined ? undefined : Number(m[2]) * 3600 + Number(m[3]) * 60 + Number(m[4])
        count.add(m[1] as 'video' | 'audio', line.at, pts)
      },
      warning: (line) =>
        (GST_WARNING.test(line.text) || GST_IGNORING.test(line.text)) && !matchesAny(GST_HARMLESS, line.text),
      noise: (line) => line.text.includes('last-message = chain'),
    },
    goal,
  )
}

// ---------------------------------------------------------------- VLC 3.0

// "[000055c1caa46360] faad decoder warning: decoded zero sample"
const VLC_WARNING = /^\[[0-9a-f]+\] .* (warning|error): /
// libavcodec inside VLC prints its own lines: "[h264 @ 0x7f…] …"
const VLC_AVCODEC = /^\[\w+ @ 0x[0-9a-f]+\] /
const VLC_STAT = /^\| (video|audio) decoded\s*:\s*(\d+)/

/**
 * VLC lines that are about this headless box, not the stream: no D-Bus
 * session, no X for the hotkeys interface; and faad2's "decoded zero
 * sample", which it says for the first AAC frame it is given (its priming
 * delay: that frame yields no samples); and the video output's "picture is
 * too late to be displayed", which is VLC's own clock against this box's CPU
 * (seen once with the container tests running beside it: the pictures had
 * decoded), not a fault of the stream.
 */
export const VLC_HARMLESS: readonly RegExp[] = [
  /dbus interface error/,
  /main interface error: no suitable interface module/,
  /main libvlc error: interface "[\w,]+" initialization failed/,
  /faad decoder warning: decoded zero sample/,
  /main video output warning: picture is too late to be displayed/,
]

/** Root may not run VLC: drop to nobody (setpriv execs, so the pid is VLC's own). */
function vlcCommand(): string[] {
  if (process.getuid?.() !== 0) return [FOREIGN_PATHS.vlc]
  return [FOREIGN_PATHS.setpriv, '--reuid=65534', '--regid=65534', '--clear-groups', '--', FOREIGN_PATHS.vlc]
}

/**
 * Plays a URL with VLC 3.0, headless (dummy video and audio outputs), and
 * reads its own decoder counters ("video decoded", "audio decoded", in
 * blocks) from the rc interface's `stats` every 250 ms; the first frame
 * is the first stats answer counting one (the rc interface answers late
 * while the input thread probes, so that time is an upper bound; `-vv`
 * would say "Received first picture" but also makes libavcodec print its
 * info lines, unlevelled). Warnings (`-v`): every VLC warning or error line
 * and every libavcodec line it relays, except VLC_HARMLESS.
 */
export async function playVlc(url: string, goal: DecodeGoal = {}): Promise<Decoded> {
  // VLC wants a writable home for its config and caches; nobody has none
  const home = mkdtempSync(join(tmpdir(), 'meshcast-vlc-'))
  chmodSync(home, 0o777)
  try {
    return await runPlayer(
      {
        player: 'VLC',
        argv: [
          ...vlcCommand(),
          ...['-I', 'oldrc', '--rc-fake-tty', '--no-dbus', '-v', '--vout=dummy', '--aout=dummy'],
          ...['--no-video-title-show', url],
        ],
        env: { HOME: home, XDG_CONFIG_HOME: home, XDG_CACHE_HOME: home, XDG_DATA_HOME: home },
        stdin: true,
        count: (line, count) => {
          const m = VLC_STAT.exec(line.text)
          if (m !== null) count.set(m[1] as 'video' | 'audio', Number(m[2]), line.at)
        },
        warning: (line) =>
          line.stream === 'stderr' &&
          (VLC_WARNING.test(line.text) || VLC_AVCODEC.test(line.text)) &&
          !matchesAny(VLC_HARMLESS, line.text),
        noise: (line) => line.stream === 'stdout',
        poll: (proc) => proc.write('stats\n'),
      },
      goal,
    )
  } finally {
    rmSync(home, { recursive: true, force: true })
  }
}
