import type { Logger } from '@meshcast/interface'
import { type BaseSession, Context, FlvSession, RtmpSession } from './nms/nms.ts'
import { isClusterPull, PULL_SKIP_BYTES, skipToKeyframes } from './pull/slow-pull.ts'

/**
 * Bytes queued in this process for a player (not yet taken by its socket).
 * NMS writes to every player without looking at backpressure, so a player
 * that reads slower than the stream grows this without bound.
 */
export function playerBacklog(session: BaseSession): number {
  if (session instanceof RtmpSession) return session.socket.writableLength
  if (session instanceof FlvSession) {
    const res = session.res as { bufferedAmount?: number; writableLength?: number }
    return res.bufferedAmount ?? res.writableLength ?? 0
  }
  return 0
}

/** Cuts a player at once: a graceful end would first wait for the backlog it cannot take. */
export function dropPlayer(session: BaseSession): void {
  if (session instanceof RtmpSession) session.socket.destroy()
  else if (session instanceof FlvSession) {
    const res = session.res as { terminate?: () => void; destroy?: () => void }
    if (res.terminate !== undefined) res.terminate()
    else res.destroy?.()
  } else session.close()
}

/**
 * Disconnects players more than `maxBytes` behind, checked every `everyMs`.
 * An edge's pull is not cut for that: it skips to keyframes past
 * PULL_SKIP_BYTES (`slow-pull.ts`), and only a pull still `maxBytes` behind
 * (a socket that takes nothing) is cut.
 */
export class PlayerGuard {
  readonly #maxBytes: number
  readonly #everyMs: number
  readonly #log: Logger
  #timer: ReturnType<typeof setInterval> | null = null

  constructor(maxBytes: number, everyMs: number, logger: Logger) {
    this.#maxBytes = maxBytes
    this.#everyMs = everyMs
    this.#log = logger
  }

  start(): void {
    if (this.#timer !== null || this.#maxBytes <= 0) return
    this.#timer = setInterval(() => this.check(), this.#everyMs)
    this.#timer.unref()
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer)
    this.#timer = null
  }

  check(sessions: Iterable<BaseSession> = Context.sessions.values()): void {
    for (const s of [...sessions]) {
      if (s.isPublisher) continue
      const pull = isClusterPull(s)
      if (pull) this.#skipping(s)
      const backlog = playerBacklog(s)
      if (backlog <= this.#maxBytes) continue
      const why = pull ? 'cluster pull too slow even skipping to keyframes' : 'player too slow for the stream'
      this.#log.warn(`${why}; disconnecting it`, {
        path: s.streamPath,
        session: s.id,
        remote: s.ip,
        protocol: s.protocol,
        backlogBytes: backlog,
      })
      dropPlayer(s)
    }
  }

  #skipping(s: RtmpSession): void {
    skipToKeyframes(s, Math.min(PULL_SKIP_BYTES, this.#maxBytes / 2), (backlog) =>
      this.#log.info('cluster pull behind; skipping to the next keyframe', {
        path: s.streamPath,
        session: s.id,
        remote: s.ip,
        backlogBytes: backlog,
      }),
    )
  }
}
