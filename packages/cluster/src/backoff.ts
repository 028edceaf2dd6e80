/** The first re-pull after an upstream was lost comes this soon (then twice as late each time). */
export const REPULL_FIRST_MS = 500

/**
 * ms before re-pull attempt `attempt` (0-based) of a stream whose upstream
 * was cut while other upstreams refused: 0.5 s, 1 s, 2 s, … capped at
 * `capMs` (cluster.xml retryDuration). A pull cut for being slow, or an
 * origin restarting, is usually back within a second: waiting the full
 * retryDuration turned a short cut into a 14-17 s stall.
 */
export function repullDelay(attempt: number, capMs: number, firstMs: number = REPULL_FIRST_MS): number {
  return Math.min(capMs, firstMs * 2 ** Math.max(0, attempt))
}
