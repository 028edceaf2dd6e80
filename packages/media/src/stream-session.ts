import type { NmsSession } from './nms/nms.ts'
import { publishOwner } from './publish/publish-owner.ts'

/** A publisher or player as the rest of meshcast sees it. */
export interface StreamSession {
  id: string
  /** `/app/name` */
  path: string
  protocol: string
  /** remote `ip:port`; empty for sessions the server made itself */
  remote: string
  publisher: boolean
  startedAt: number
  /** a publisher's owner tag (its checked credentials' group or user); null when it needed none, and for players */
  owner: string | null
}

export function toStreamSession(s: NmsSession): StreamSession {
  return {
    id: s.id,
    path: s.streamPath,
    protocol: s.protocol,
    remote: s.ip,
    publisher: s.isPublisher,
    startedAt: s.createTime,
    owner: publishOwner(s),
  }
}
