import type { AppInfo } from '@meshcast/apps'
import type { Express } from 'express'

/** ms between the loop watch's timer turns. */
export const LOOP_TICK_MS = 250
/** A loop whose timer last turned longer ago than this is stuck: `/healthz` says 503. */
export const LOOP_STUCK_MS = 5000

/**
 * Notes when the event loop last ran a timer. A loop that is blocked cannot
 * answer `/healthz` at all (a probe's timeout catches that); one that was
 * blocked and just came back answers 503 once, with how long it was away.
 */
export class LoopWatch {
  #lastTurn = Date.now()
  #timer: ReturnType<typeof setInterval> | null = null

  start(): void {
    this.#lastTurn = Date.now()
    this.#timer ??= setInterval(() => {
      this.#lastTurn = Date.now()
    }, LOOP_TICK_MS)
    // the watch alone must not keep a stopped node's process alive
    this.#timer.unref()
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer)
    this.#timer = null
  }

  /** ms since the timer last turned (about LOOP_TICK_MS at most while the loop turns freely). */
  sinceLastTurn(now = Date.now()): number {
    return now - this.#lastTurn
  }
}

/** What `/readyz` looks at. */
export interface Readiness {
  listeners: Record<string, { up: boolean }>
  /** the mesh's state; null on a standalone node */
  mesh: string | null
  appsStarted: boolean
  apps: readonly AppInfo[]
  draining: boolean
}

/** Why the node is not ready, most fundamental first; empty when it is. Pure. */
export function notReadyReasons(r: Readiness): string[] {
  const reasons: string[] = []
  if (r.draining) reasons.push('draining')
  for (const [name, l] of Object.entries(r.listeners)) if (!l.up) reasons.push(`${name} listener not up`)
  if (r.mesh !== null && r.mesh !== 'joined' && !r.draining) reasons.push('not joined')
  if (!r.appsStarted && !r.draining) reasons.push('apps not started')
  for (const app of r.apps)
    if (app.state === 'failed')
      reasons.push(`app ${app.name} failed${app.error === null ? '' : `: ${app.error.message}`}`)
  return reasons
}

/**
 * `GET /healthz` (the process lives and its loop turns: 200, else 503) and
 * `GET /readyz` (listeners up, joined, apps started, not draining: 200,
 * else 503 with the reasons). Both JSON, cheap, unauthenticated; neither
 * waits on the mesh.
 */
export function probeRoutes(app: Express, watch: LoopWatch, readiness: () => Readiness): void {
  app.get('/healthz', (_req, res) => {
    const away = watch.sinceLastTurn()
    if (away <= LOOP_STUCK_MS) res.json({ status: 'ok' })
    else res.status(503).json({ status: 'stuck', reason: `the event loop did not turn for ${away} ms` })
  })
  app.get('/readyz', (_req, res) => {
    const reasons = notReadyReasons(readiness())
    if (reasons.length === 0) res.json({ status: 'ready' })
    else res.status(503).json({ status: 'not ready', reasons })
  })
}
