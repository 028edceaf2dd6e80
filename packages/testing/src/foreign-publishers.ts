import { ffmpegPath, type TestPatternOptions, testPatternArgs } from '@meshcast/node/ffmpeg'
import { FOREIGN_PATHS } from './foreign.ts'
import { ForeignProcess } from './foreign-run.ts'

/** GStreamer's two RTMP publishers: its own client (rtmp2sink) and librtmp's (rtmpsink). */
export type GstSink = 'rtmp2sink' | 'rtmpsink'

/**
 * Publishes a live test pattern with GStreamer (videotestsrc + x264enc,
 * audiotestsrc + avenc_aac, flvmux) through `sink`. Stop it with
 * `stop('SIGTERM')`; its output holds the sink's errors (e.g. a refused
 * publish: rtmp2sink names the onStatus code it got).
 */
export function publishGst(sink: GstSink, url: string): ForeignProcess {
  const location = sink === 'rtmpsink' ? `location=${url} live=1` : `location=${url}`
  return new ForeignProcess(
    [
      FOREIGN_PATHS.gstLaunch,
      ...['videotestsrc', 'is-live=true', '!', 'video/x-raw,format=I420,width=320,height=180,framerate=25/1'],
      ...['!', 'x264enc', 'tune=zerolatency', 'speed-preset=ultrafast', 'key-int-max=25', '!', 'h264parse'],
      ...['!', 'flvmux', 'name=m', 'streamable=true', '!', sink, location],
      ...['audiotestsrc', 'is-live=true', '!', 'audioconvert', '!', 'audioresample'],
      ...['!', 'audio/x-raw,rate=44100,channels=1', '!', 'avenc_aac', '!', 'aacparse', '!', 'm.'],
    ],
    { env: { GST_DEBUG: '2', GST_DEBUG_NO_COLOR: '1' } },
  )
}

/** `ffmpeg` publishing the project's test pattern, with `extra` output options just before the URL. */
function testPattern(
  ffmpeg: string,
  url: string,
  opts: TestPatternOptions,
  extra: readonly string[],
): ForeignProcess {
  const args = testPatternArgs(url, opts)
  const at = args.length - 1 // the URL is last
  return new ForeignProcess([ffmpeg, ...args.slice(0, at), ...extra, ...args.slice(at)])
}

/**
 * Publishes the project's test pattern (testsrc2 + 440 Hz, H.264 + AAC, 1 s
 * GOP) with Debian's ffmpeg 5.1; `extra` goes before the output URL (e.g.
 * `-flvflags no_metadata`). Its output holds ffmpeg's "Server error: …" on a
 * refusal.
 */
export function publishDebianFfmpeg(
  url: string,
  opts: TestPatternOptions = {},
  extra: readonly string[] = [],
): ForeignProcess {
  return testPattern(FOREIGN_PATHS.ffmpeg, url, opts, extra)
}

/**
 * The same test pattern from the project's static ffmpeg, as a ForeignProcess
 * with `extra` output options: `['-an']` for a video-only stream at the
 * pattern's usual bitrate. Not `['-vn']`: the pattern's `-re` paces its video
 * input only, so without video its audio is read, and sent, as fast as it
 * can be (`publishFlashBeep(url, { tracks: 'audio' })` paces each input).
 */
export function publishTestPattern(
  url: string,
  opts: TestPatternOptions = {},
  extra: readonly string[] = [],
): ForeignProcess {
  return testPattern(ffmpegPath(), url, opts, extra)
}
