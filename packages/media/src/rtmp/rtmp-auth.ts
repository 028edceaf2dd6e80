// Red5 Pro clients send credentials three ways: on the application
// (`rtmp://host/live?username=u&password=p`, so in the connect command's app
// and tcUrl), on the stream name (`name?username=u&password=p`: OBS's stream
// key field), or as an object argument after the connect command's own.
// Each is read here, then cut out of what node-media-server keeps (its
// app, tcUrl and stream query), so no credential reaches a log, an advert
// or /api/streams.
import {
  type AccessAction,
  type Authorize,
  CREDENTIAL_KEYS,
  type Credentials,
  credentialsFromQuery,
  type Logger,
  mergeCredentials,
} from '@meshcast/interface'
import type { RtmpSession } from '../nms/nms.ts'
import { setPublishOwner } from '../publish/publish-owner.ts'
import { PLAY_REFUSED, PUBLISH_REFUSED, sendRefusal } from './rtmp-accept.ts'

/** `text` split at its first `?`: the part before and the query after (empty when none). */
function splitQuery(text: string): [string, URLSearchParams] {
  const at = text.indexOf('?')
  return at === -1
    ? [text, new URLSearchParams()]
    : [text.slice(0, at), new URLSearchParams(text.slice(at + 1))]
}

/** The query without the credential keys, as `?rest` (or empty). */
function withoutCredentials(query: URLSearchParams): string {
  for (const key of CREDENTIAL_KEYS) query.delete(key)
  const rest = query.toString()
  return rest === '' ? '' : `?${rest}`
}

/** Credentials in a connect argument: an AMF object with string fields. */
function credentialsOfArgument(arg: unknown): Credentials {
  if (arg === null || typeof arg !== 'object') return {}
  const out: Credentials = {}
  for (const key of CREDENTIAL_KEYS) {
    const value = (arg as Record<string, unknown>)[key]
    if (typeof value === 'string') out[key] = value
  }
  return out
}

/** Reads credentials off `connect` and strips them from its app and tcUrl; returns what was found. */
function takeConnectCredentials(message: { cmdObj?: unknown; args?: unknown }): Credentials {
  const cmd = message.cmdObj
  if (cmd === null || typeof cmd !== 'object') return credentialsOfArgument(message.args)
  const o = cmd as Record<string, unknown>
  let found: Credentials = credentialsOfArgument(message.args)
  if (typeof o.app === 'string') {
    const [app, query] = splitQuery(o.app)
    found = mergeCredentials(credentialsFromQuery(query), found)
    o.app = app + withoutCredentials(query)
  }
  if (typeof o.tcUrl === 'string') {
    const [url, query] = splitQuery(o.tcUrl)
    found = mergeCredentials(found, credentialsFromQuery(query))
    o.tcUrl = url + withoutCredentials(query)
  }
  return found
}

/**
 * Asks `authorize` before a publish or play goes through: credentials from
 * the connect command and the stream name (the stream name's win). While it
 * decides, the command waits (NMS has not answered it); a refusal is
 * NetStream.Publish.Rejected or NetStream.Play.Failed, described
 * "authentication failed", and the connection is closed. Install it before
 * the other publish and play wrappers (it must be the innermost: a node
 * that refuses for other reasons refuses before asking).
 */
export function authenticateRtmp(session: RtmpSession, authorize: Authorize, log: Logger): void {
  const rtmp = session.rtmp
  let connected: Credentials = {}
  const onConnect = rtmp.onConnect.bind(rtmp)
  rtmp.onConnect = (message) => {
    connected = takeConnectCredentials(message)
    onConnect(message)
  }
  const gate = (action: AccessAction, inner: (message: { streamName?: unknown }) => void) => {
    return (message: { streamName?: unknown }) => {
      const [name, query] = splitQuery(String(message.streamName ?? ''))
      const credentials = mergeCredentials(credentialsFromQuery(query), connected)
      message.streamName = name + withoutCredentials(query)
      const streamId = rtmp.parserPacket.header.stream_id
      const request = {
        action,
        app: String(rtmp.streamApp ?? ''),
        name,
        credentials,
        clientIp: session.socket.remoteAddress ?? '',
        protocol: 'rtmp',
      }
      void authorize(request).then((verdict) => {
        if (session.socket.destroyed) return
        if (!verdict.allowed) {
          const code = action === 'publish' ? PUBLISH_REFUSED : PLAY_REFUSED
          sendRefusal(session, streamId, code, `/${request.app}/${name}: authentication failed`)
          return
        }
        if (action === 'publish') setPublishOwner(session, verdict.owner)
        try {
          onStreamId(rtmp, streamId, () => inner(message))
        } catch (err) {
          // what guardRtmpSession does for a command parsed in the data handler
          log.warn('RTMP client sent what the server cannot parse; closing it', {
            session: session.id,
            remote: session.ip,
            error: (err as Error).message,
          })
          session.socket.destroy()
        }
      })
    }
  }
  rtmp.onPublish = gate('publish', rtmp.onPublish.bind(rtmp))
  rtmp.onPlay = gate('play', rtmp.onPlay.bind(rtmp))
}

/**
 * Runs `step` as if the command's chunk were still the one parsed: NMS's
 * publish and play read the stream id off `parserPacket`, which later
 * chunks have moved on since the command arrived.
 */
function onStreamId(rtmp: RtmpSession['rtmp'], streamId: number, step: () => void): void {
  const packet = rtmp.parserPacket
  rtmp.parserPacket = { ...packet, header: { ...packet.header, stream_id: streamId } }
  try {
    step()
  } finally {
    rtmp.parserPacket = packet
  }
}
