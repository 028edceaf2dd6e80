/** One lifecycle: both calls are safe to repeat. */
export interface Startable {
  start(): Promise<void>
  stop(): Promise<void>
}
