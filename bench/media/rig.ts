// What one deployment started, so the phase that made it can always tear it
// down (after a failure halfway too) and quote its servers' logs in an error.
import type { ChildProcess } from 'node:child_process'
import { type Publisher, publish } from '@meshcast/testing'
import { sleep } from '../lib.ts'
import { track } from './children.ts'
import { type Clip, replay } from './clip.ts'

/** A server, or a whole cluster, as the rig stops it. */
export interface Stoppable {
  stop(): Promise<void>
  /** its last log lines */
  report(): string
}

export class Rig {
  readonly #publishers: Publisher[] = []
  readonly #servers: Stoppable[] = []
  readonly #replays: ChildProcess[] = []

  add<T extends Stoppable>(server: T): T {
    this.#servers.push(server)
    return server
  }

  /** Starts the ffmpeg test pattern publishing to `url`. */
  async publish(url: string): Promise<Publisher> {
    const p = await publish(url)
    track(p.child)
    this.#publishers.push(p)
    return p
  }

  /** Publishes `clip` to `url`, looped, without encoding (killed with the rig's servers). */
  replay(clip: Clip, url: string): void {
    this.#replays.push(replay(clip, url))
  }

  report(): string {
    return this.#servers.map((s) => s.report()).join('\n')
  }

  /** The publishers first, then every server at once; a rig can be stopped twice. */
  async stop(): Promise<void> {
    for (const child of this.#replays.splice(0)) child.kill('SIGKILL')
    await Promise.all(
      this.#publishers.splice(0).map(async (p) => {
        p.child.kill('SIGKILL')
        await Promise.race([p.exited, sleep(3000)])
      }),
    )
    await Promise.all(this.#servers.splice(0).map((s) => s.stop()))
  }
}
