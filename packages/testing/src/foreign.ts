import { spawnSync } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { inCi, type SkippableContext, skipOrFail } from './cluster.ts'

/**
 * Foreign software the interop tests drive: players, encoders and tools
 * meshcast did not write, all from Debian (see the README's Quick start).
 */
export type ForeignTool = 'ffmpeg' | 'gstreamer' | 'vlc' | 'rtmpdump'

/** Debian's binaries; each can be moved with an environment variable. */
export const FOREIGN_PATHS = {
  /** Debian's ffmpeg 5.1 (not the static 4.x build the other tests publish with) */
  ffmpeg: process.env.MESHCAST_DEBIAN_FFMPEG ?? '/usr/bin/ffmpeg',
  ffprobe: process.env.MESHCAST_DEBIAN_FFPROBE ?? '/usr/bin/ffprobe',
  gstLaunch: process.env.MESHCAST_GST_LAUNCH ?? '/usr/bin/gst-launch-1.0',
  gstInspect: process.env.MESHCAST_GST_INSPECT ?? '/usr/bin/gst-inspect-1.0',
  vlc: process.env.MESHCAST_VLC ?? '/usr/bin/vlc',
  rtmpdump: process.env.MESHCAST_RTMPDUMP ?? '/usr/bin/rtmpdump',
  /** runs VLC as another user when the tests run as root (VLC refuses root) */
  setpriv: '/usr/bin/setpriv',
} as const

/**
 * The GStreamer elements the players and publishers use, and the Debian
 * package each comes from (for the message when one is missing).
 */
export const GST_ELEMENTS: Readonly<Record<string, string>> = {
  rtmp2src: 'gstreamer1.0-plugins-bad',
  rtmp2sink: 'gstreamer1.0-plugins-bad',
  rtmpsrc: 'gstreamer1.0-plugins-bad',
  rtmpsink: 'gstreamer1.0-plugins-bad',
  souphttpsrc: 'gstreamer1.0-plugins-good',
  flvdemux: 'gstreamer1.0-plugins-good',
  flvmux: 'gstreamer1.0-plugins-good',
  decodebin: 'gstreamer1.0-plugins-base',
  videotestsrc: 'gstreamer1.0-plugins-base',
  audiotestsrc: 'gstreamer1.0-plugins-base',
  x264enc: 'gstreamer1.0-plugins-ugly',
  avdec_h264: 'gstreamer1.0-libav',
  avenc_aac: 'gstreamer1.0-libav',
  avdec_aac: 'gstreamer1.0-libav',
}

/** What `apt-get install` needs for each tool. */
const PACKAGES: Record<ForeignTool, string> = {
  ffmpeg: 'ffmpeg',
  gstreamer: 'gstreamer1.0-tools and the plugin sets',
  vlc: 'vlc-bin vlc-plugin-base',
  rtmpdump: 'rtmpdump',
}

function notExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK)
    return false
  } catch {
    return true
  }
}

function missingBinaries(paths: string[], tool: ForeignTool): string | null {
  const absent = paths.filter(notExecutable)
  if (absent.length === 0) return null
  return `${absent.join(', ')} not found (apt-get install ${PACKAGES[tool]})`
}

function missingGstElements(): string | null {
  const bins = missingBinaries([FOREIGN_PATHS.gstLaunch, FOREIGN_PATHS.gstInspect], 'gstreamer')
  if (bins !== null) return bins
  const absent = Object.keys(GST_ELEMENTS).filter(
    (element) => spawnSync(FOREIGN_PATHS.gstInspect, [element], { stdio: 'ignore' }).status !== 0,
  )
  if (absent.length === 0) return null
  const packages = [...new Set(absent.map((e) => GST_ELEMENTS[e]))].join(' ')
  return `GStreamer elements ${absent.join(', ')} not found (apt-get install ${packages})`
}

function missingVlc(): string | null {
  const bins = missingBinaries([FOREIGN_PATHS.vlc], 'vlc')
  if (bins !== null) return bins
  if (process.getuid?.() === 0 && notExecutable(FOREIGN_PATHS.setpriv)) {
    return `VLC refuses to run as root and ${FOREIGN_PATHS.setpriv} (util-linux) is missing to drop privileges`
  }
  return null
}

const found = new Map<ForeignTool, string | null>()

/** Why `tool` cannot be used here, or null when it can (looked up once per process). */
export function foreignMissing(tool: ForeignTool): string | null {
  if (!found.has(tool)) {
    found.set(
      tool,
      tool === 'gstreamer'
        ? missingGstElements()
        : tool === 'vlc'
          ? missingVlc()
          : tool === 'ffmpeg'
            ? missingBinaries([FOREIGN_PATHS.ffmpeg, FOREIGN_PATHS.ffprobe], 'ffmpeg')
            : missingBinaries([FOREIGN_PATHS.rtmpdump], 'rtmpdump'),
    )
  }
  return found.get(tool) ?? null
}

/**
 * Skips the test when a tool it needs is missing, or fails it in CI (where a
 * skipped interop test would hide a broken runner), like Chromium's rule.
 * Returns true when the test may go on.
 */
export function requireForeign(tools: readonly ForeignTool[], t: SkippableContext, ci = inCi()): boolean {
  const reasons = tools.map(foreignMissing).filter((r): r is string => r !== null)
  if (reasons.length === 0) return true
  const reason = reasons.join('; ')
  skipOrFail('foreign software', reason, t, ci)
  return false
}
