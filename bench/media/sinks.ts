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
  bytes: number
}

export class Sinks {
  readonly count: number
  readonly #workers: { child: ChildProcess; next: (() => void)[]; lines: string[] }[] = []

  /** Starts `count` sinks playing `url`, up to PER_WORKER a process, each process from its own address. */
  constructor(url: string, count: number) {
    this.count = count
    const address = loopbackSubnet()
    for (let i = 0; i * PER_WORKER < count; i++) {
      const n = Math.min(PER_WORKER, count - i * PER_WORKER)
      const child = track(
        spawn(process.execPath, [WORKER, url, String(n), address(i)], { stdio: ['pipe', 'pipe', 'inherit'] }),
      )
      const w = { child, next: [] as (() => void)[], lines: [] as string[] }
      if (child.stdout !== null)
        createInterface({ input: child.stdout }).on('line', (line) => {
          w.lines.push(line)
          w.next.shift()?.()
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
            w.next.push(() => resolve(JSON.parse(w.lines.shift() ?? '{}') as SinkReport))
            w.child.once('exit', () => reject(new Error('a sink worker exited')))
            w.child.stdin?.write('report\n')
          }),
      ),
    )
    return all.reduce(
      (a, b) => ({ playing: a.playing + b.playing, closed: a.closed + b.closed, bytes: a.bytes + b.bytes }),
      {
        playing: 0,
        closed: 0,
        bytes: 0,
      },
    )
  }

  stop(): void {
    for (const w of this.#workers) w.child.kill('SIGKILL')
  }
}
