import type { Carrier, StreamBook } from './stream-book.ts'

/** Other nodes' adverts that pull a stream straight from `node` (it is their `via[0]`). */
export function pullingFrom(book: StreamBook, node: string): Carrier[] {
  return book
    .paths()
    .flatMap((path) => book.carriers(path).filter((c) => c.member.id !== node && c.advert.via[0] === node))
}

export interface DrainResult {
  /** true: no member pulls from the node any more; false: the timeout ran out first */
  drained: boolean
  /** how long the wait took */
  ms: number
  /** ids of the members still pulling from the node when the wait ended (none when drained) */
  waiting: string[]
}

/**
 * Waits until no member's advert names `node` as its upstream, at most
 * `timeoutMs`: a node shutting down has withdrawn its own adverts, and its
 * edges switch to another upstream (make before break) and say so in their
 * next advert; an edge with no other upstream stops advertising the stream
 * at once. Looked at now and at every change of the book, no polling.
 */
export function awaitDrain(book: StreamBook, node: string, timeoutMs: number): Promise<DrainResult> {
  const started = Date.now()
  const waiting = () => [...new Set(pullingFrom(book, node).map((c) => c.member.id))].sort()
  return new Promise((resolve) => {
    const finish = (drained: boolean) => {
      unhook()
      clearTimeout(timer)
      resolve({ drained, ms: Date.now() - started, waiting: drained ? [] : waiting() })
    }
    const check = () => {
      if (waiting().length === 0) finish(true)
    }
    const timer = setTimeout(() => finish(false), Math.max(0, timeoutMs))
    const unhook = book.events.on('change', check)
    check()
  })
}
