import type { EventEmitter } from 'node:events'

/**
 * Adds listeners to a node EventEmitter (a socket, a server,
 * node-media-server's Context.eventEmitter); the returned function removes
 * them, as SafeEmitter.on's does. Node's `on` returns the emitter instead.
 */
export function listen(
  emitter: EventEmitter,
  // biome-ignore lint/suspicious/noExplicitAny: each event's arguments are the emitter's business
  listeners: Readonly<Record<string, (...args: any[]) => void>>,
): () => void {
  const entries = Object.entries(listeners)
  for (const [event, listener] of entries) emitter.on(event, listener)
  return () => {
    for (const [event, listener] of entries) emitter.off(event, listener)
  }
}
