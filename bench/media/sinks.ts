// Many RTMP players at once, in worker processes of sinks (sink-worker.ts):
// the load a server serves, with this benchmark's own probes timing frames.
import { type ChildProcess, spawn } from 'node:child_process'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { loopbackSubnet } from '@meshcast/testing'
import { track } from './children.ts'

const WORKER = join(import.meta.dirname, 'sink-worker.ts')
/** sinks per worker process (and per source address) */
const PER_WORKER = 250

export interface SinkReport {
  playing: number
  closed: number
  /** each sink's bytes so far, in the same order in every report */
  bytes: number[]
}

interface Worker {
  child: ChildProcess
  /** reports asked for and not answered yet, oldest first */
  waiting: { resolve: (r: SinkReport) => void; reject: (err: Error) => void }[]
}

export class Sinks {
  readonly count: number
  readonly #workers: Worker[] = []

  /** Starts `count` sinks playing `url`, up to PER_WORKER a process, each process from its own address. */
  constructor(url: string, count: number) {
    this.count = count
    const address = loopbackSubnet()
    for (let i = 0; i * PER_WORKER < count; i++) {
      const n = Math.min(PER_WORKER, count - i * PER_WORKER)
      const child = track(
        spawn(process.execPath, [WORKER, url, String(n), address(i)], { stdio: ['pipe', 'pipe', 'inherit'] }),
      )
      const w: Worker = { child, waiting: [] }
      if (child.stdout !== null)
        createInterface({ input: child.stdout }).on('line', (line) =>
          w.waiting.shift()?.resolve(JSON.parse(line) as SinkReport),
        )
      child.once('exit', () => {
        for (const r of w.waiting.splice(0)) r.reject(new Error('a sink worker exited'))
      })
      this.#workers.push(w)
    }
  }

  /** What every sink got so far (once all of them started). */
  async report(): Promise<SinkReport> {
    const all = await Promise.all(
      this.#workers.map(
        (w) =>
          new Promise<SinkReport>((resolve, reject) => {
            w.waiting.push({ resolve, reject })
            w.child.stdin?.write('report\n')
          }),
      ),
    )
    return {
      playing: all.reduce((n, r) => n + r.playing, 0),
      closed: all.reduce((n, r) => n + r.closed, 0),
      bytes: all.flatMap((r) => r.bytes),
    }
  }

  stop(): void {
    for (const w of this.#workers) w.child.kill('SIGKILL')
  }
}
