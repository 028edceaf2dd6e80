import { type ChildProcess, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { childEnded } from './child-end.ts'
import type { Exit } from './node-process.ts'

/** One line a foreign program printed, and when it arrived. */
export interface OutputLine {
  stream: 'stdout' | 'stderr'
  text: string
  /** Date.now() when it arrived */
  at: number
}

export interface RunOptions {
  env?: Record<string, string>
  /** keep stdin as a pipe (VLC's rc interface reads commands there) */
  stdin?: boolean
  /** called with every line as it arrives */
  onLine?: (line: OutputLine) => void
  /** a line for which this is false is not kept (e.g. one a buffer, counted by onLine) */
  keep?: (line: OutputLine) => boolean
}

/** Every foreign child still running; SIGKILLed if the test process exits first. */
const live = new Set<ChildProcess>()
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL')
})

/**
 * A foreign program with its output split into timed lines. It is stopped
 * with `stop()` (SIGKILL by default: these are players whose teardown chatter
 * is not what a test judges) and SIGKILLed when the test process exits.
 */
export class ForeignProcess {
  readonly argv: readonly string[]
  readonly child: ChildProcess
  readonly startedAt = Date.now()
  readonly lines: OutputLine[] = []
  readonly exited: Promise<Exit>

  constructor(argv: readonly string[], opts: RunOptions = {}) {
    const [file, ...args] = argv
    if (file === undefined) throw new RangeError('an empty command')
    this.argv = argv
    this.child = spawn(file, args, {
      stdio: [opts.stdin === true ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...opts.env },
    })
    live.add(this.child)
    for (const name of ['stdout', 'stderr'] as const) {
      const take = (text: string) => {
        const line = { stream: name, text, at: Date.now() }
        if (line.text === '') return
        opts.onLine?.(line)
        if (opts.keep?.(line) ?? true) this.lines.push(line)
      }
      const input = this.child[name]
      if (input) createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY }).on('line', take)
    }
    this.exited = new Promise((resolve) => {
      childEnded(this.child).then(({ code, signal }) => {
        live.delete(this.child)
        resolve({ code, signal })
      })
      this.child.once('error', (err) => {
        this.lines.push({ stream: 'stderr', text: `${file}: ${err.message}`, at: Date.now() })
        live.delete(this.child)
        resolve({ code: null, signal: null })
      })
    })
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null && this.child.pid !== undefined
  }

  /** Writes to the program's stdin (when started with `stdin: true`). */
  write(text: string): void {
    if (this.running) this.child.stdin?.write(text)
  }

  /** Stops it (if still running) and waits for the exit; one that ignores `signal` is SIGKILLed after `graceMs`. */
  async stop(signal: NodeJS.Signals = 'SIGKILL', graceMs = 5000): Promise<Exit> {
    if (this.running) this.child.kill(signal)
    if (signal !== 'SIGKILL') {
      await untilOr(graceMs, this.exited)
      if (this.running) this.child.kill('SIGKILL')
    }
    return await this.exited
  }

  /** Everything it printed, one string (for failure messages). */
  output(): string {
    return this.lines.map((l) => l.text).join('\n')
  }

  /** The last `n` lines it printed. */
  tail(n = 40): string {
    return this.lines
      .slice(-n)
      .map((l) => l.text)
      .join('\n')
  }
}

/** Resolves after `ms`, or at once when `done` has already ended (a process that exited). */
export async function untilOr(ms: number, done: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  await Promise.race([done, new Promise((resolve) => (timer = setTimeout(resolve, ms)))])
  clearTimeout(timer)
}
