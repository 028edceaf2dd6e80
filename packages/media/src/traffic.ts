import type { BaseSession, BroadcastServer } from './nms/nms.ts'

/** Bytes one stream moved on this node. */
export interface StreamTraffic {
  /** `/app/name` */
  path: string
  /** from its publisher (all of its RTMP bytes), or media fed by its pull */
  inBytes: number
  /** media sent to its players */
  outBytes: number
}

/**
 * Keeps each stream's byte counts monotonic while it exists on the node:
 * node-media-server counts per session, so the bytes of players that left,
 * of a publisher replaced and of an earlier pull's stand-in would otherwise
 * vanish with their sessions. Fed by NMS's `donePlay` and `donePublish`.
 */
export class TrafficTally {
  /** path → bytes of sessions that are gone */
  readonly #gone = new Map<string, { in: number; out: number }>()

  /** A player leaves `b` (NMS emits donePlay while it is still a subscriber). */
  playerLeft(b: BroadcastServer | undefined, s: BaseSession): void {
    if (b?.subscribers.has(s.id) === true) this.#add(s.streamPath, 0, s.outBytes)
  }

  /** A publish ended for good (NMS's donePublish: the publisher slot is already free). */
  publishEnded(s: BaseSession): void {
    this.#add(s.streamPath, s.inBytes, 0)
  }

  /** Every stream on the node now; forgets what it kept for streams that are gone. */
  read(broadcasts: ReadonlyMap<string, BroadcastServer>): StreamTraffic[] {
    for (const path of this.#gone.keys()) if (!broadcasts.has(path)) this.#gone.delete(path)
    return [...broadcasts.values()].map((b) => {
      const gone = this.#gone.get(b.streamPath)
      let outBytes = gone?.out ?? 0
      for (const s of b.subscribers.values()) outBytes += s.outBytes
      return { path: b.streamPath, inBytes: (gone?.in ?? 0) + (b.publisher?.inBytes ?? 0), outBytes }
    })
  }

  clear(): void {
    this.#gone.clear()
  }

  #add(path: string, inBytes: number, outBytes: number): void {
    const gone = this.#gone.get(path) ?? { in: 0, out: 0 }
    gone.in += inBytes
    gone.out += outBytes
    this.#gone.set(path, gone)
  }
}
