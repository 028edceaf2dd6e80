import type { NmsSession } from './nms.ts'

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
}

export function toStreamSession(s: NmsSession): StreamSession {
  return {
    id: s.id,
    path: s.streamPath,
    protocol: s.protocol,
    remote: s.ip,
    publisher: s.isPublisher,
    startedAt: s.createTime,
  }
}
