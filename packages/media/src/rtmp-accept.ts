import type { Logger } from '@meshcast/interface'
import type { RtmpSession } from './nms.ts'

/** The status a refused publisher gets: fatal for ffmpeg, OBS (librtmp) and NMS's own client. */
export const PUBLISH_REFUSED = 'NetStream.Publish.Rejected'
/** How long a refused publisher may keep its connection after the status before it is cut. */
const REFUSED_LINGER_MS = 2000

/**
 * Ends a session whose client makes node-media-server throw (a connect
 * without tcUrl, a play without a name, ...): NMS parses in the socket's
 * "data" handler, where an exception would end the whole process.
 */
export function guardRtmpSession(session: RtmpSession, log: Logger): void {
  const onData = session.onData
  session.onData = (data: Buffer) => {
    try {
      onData(data)
    } catch (err) {
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

/**
 * Refuses every publish on this session with an error status naming `why`.
 * NMS answers NetStream.Publish.Start before any hook of ours could veto
 * (rtmp.js:712-724), and refusing later leaves the path in its 30 s
 * "reconnecting" grace; so the session's own `onPublish` (which
 * `invokeHandler` calls) is replaced: no Publish.Start, no broadcast, no
 * publish event.
 */
export function refusePublish(session: RtmpSession, why: string, log: Logger): void {
  const rtmp = session.rtmp
  rtmp.onPublish = (message) => {
    const name = String(message.streamName ?? '').split('?')[0] ?? ''
    const path = `/${rtmp.streamApp}/${name}`
    log.info('publish refused', { path, remote: session.ip, why })
    rtmp.sendStatusMessage(rtmp.parserPacket.header.stream_id, 'error', PUBLISH_REFUSED, `${path}: ${why}`)
    // end() sends the status first; a client that does not hang up is cut
    session.socket.end()
    setTimeout(() => session.socket.destroy(), REFUSED_LINGER_MS).unref()
  }
}
