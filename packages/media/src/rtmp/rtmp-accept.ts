import { isStreamName, type Logger, MAX_STREAM_NAME } from '@meshcast/interface'
import { Context, type RtmpSession } from '../nms/nms.ts'
import { type BoundLog, RtmpBoundError } from './rtmp-bounds.ts'

/** The status a refused publisher gets: fatal for ffmpeg, OBS (librtmp) and NMS's own client. */
export const PUBLISH_REFUSED = 'NetStream.Publish.Rejected'
/** The status a refused player gets (a node shutting down): an error, so ffmpeg and librtmp give up at once. */
export const PLAY_REFUSED = 'NetStream.Play.Failed'
/** The status a publisher of a name that cannot be published gets (bad characters, or the path is live already). */
export const PUBLISH_BAD_NAME = 'NetStream.Publish.BadName'
/** How long a refused publisher may keep its connection after the status before it is cut. */
const REFUSED_LINGER_MS = 2000

/**
 * Ends a session whose client makes node-media-server throw (a connect
 * without tcUrl, a play without a name, ...): NMS parses in the socket's
 * "data" handler, where an exception would end the whole process.
 */
export function guardRtmpSession(session: RtmpSession, log: Logger, bounds: BoundLog): void {
  const onData = session.onData
  session.onData = (data: Buffer) => {
    try {
      onData(data)
    } catch (err) {
      if (err instanceof RtmpBoundError) {
        bounds.closed(err.kind, err.message, session.ip)
        session.socket.destroy()
        return
      }
      log.warn('RTMP client sent what the server cannot parse; closing it', {
        session: session.id,
        remote: session.ip,
        path: session.streamPath === '' ? undefined : session.streamPath,
        error: (err as Error).message,
      })
      session.socket.destroy()
    }
  }
}

/** Why a command is refused now, or null to let it through (asked when the command arrives). */
export type Refusal = () => string | null

/**
 * Refuses a publish on this session, with an error status naming why, while
 * `refusal` gives a reason. NMS answers NetStream.Publish.Start before any
 * hook of ours could veto (rtmp.js:712-724), and refusing later leaves the
 * path in its 30 s "reconnecting" grace; so the session's own `onPublish`
 * (which `invokeHandler` calls) is wrapped: no Publish.Start, no broadcast,
 * no publish event.
 */
export function refusePublish(session: RtmpSession, refusal: Refusal, log: Logger): void {
  const rtmp = session.rtmp
  const onPublish = rtmp.onPublish.bind(rtmp)
  rtmp.onPublish = (message) => {
    const why = refusal()
    if (why !== null) return refuse(session, 'publish', PUBLISH_REFUSED, message.streamName, why, log)
    const bad = badName(rtmp.streamApp, message.streamName) ?? busy(rtmp.streamApp, message.streamName)
    if (bad !== null) return refuse(session, 'publish', PUBLISH_BAD_NAME, message.streamName, bad, log)
    onPublish(message)
  }
}

/**
 * Refuses a play on this session while `refusal` gives a reason, the same
 * way: before NMS answers NetStream.Play.Start or attaches the player.
 */
export function refusePlay(session: RtmpSession, refusal: Refusal, log: Logger): void {
  const rtmp = session.rtmp
  const onPlay = rtmp.onPlay.bind(rtmp)
  rtmp.onPlay = (message) => {
    const why = refusal() ?? badName(rtmp.streamApp, message.streamName)
    if (why === null) onPlay(message)
    else refuse(session, 'play', PLAY_REFUSED, message.streamName, why, log)
  }
}

/**
 * Why `app` and the stream name (its query cut off) cannot be a stream, or
 * null. NMS would answer Publish.Start (or Play.Start) and then just close
 * the socket: ffmpeg saw "End of file" after 2 s of "publishing".
 */
export function badName(app: unknown, streamName: unknown): string | null {
  const rule = `letters, digits, _ and - only, at most ${MAX_STREAM_NAME}`
  if (typeof app !== 'string' || !isStreamName(app))
    return `the application name ${shown(app)} is not allowed (${rule}; one path segment: rtmp://host/app/name)`
  const name = nameOf(streamName)
  if (!isStreamName(name)) return `the stream name ${shown(name)} is not allowed (${rule})`
  return null
}

/** Why the path is taken: a publisher is live on it (one in NMS's "reconnecting" grace may be replaced). */
function busy(app: string, streamName: unknown): string | null {
  const b = Context.broadcasts.get(`/${app}/${nameOf(streamName)}`)
  if (b === undefined || b.publisher === null || b.getPublishStatus() !== 'publishing') return null
  return 'the stream is already being published'
}

function nameOf(streamName: unknown): string {
  return String(streamName ?? '').split('?')[0] ?? ''
}

function shown(value: unknown): string {
  return JSON.stringify(String(value ?? '').slice(0, 64))
}

function refuse(
  session: RtmpSession,
  what: 'publish' | 'play',
  code: string,
  streamName: unknown,
  why: string,
  log: Logger,
): void {
  const rtmp = session.rtmp
  const path = `/${String(rtmp.streamApp ?? '').slice(0, 64)}/${nameOf(streamName).slice(0, 64)}`
  log.info(`${what} refused`, { path, remote: session.ip, why })
  sendRefusal(session, rtmp.parserPacket.header.stream_id, code, `${path}: ${why}`)
}

/** Sends an error status on `streamId` and hangs up (after the status; a client that stays is cut). */
export function sendRefusal(session: RtmpSession, streamId: number, code: string, description: string): void {
  session.rtmp.sendStatusMessage(streamId, 'error', code, description)
  session.socket.end()
  setTimeout(() => session.socket.destroy(), REFUSED_LINGER_MS).unref()
}
