import { type ChildProcess, spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { NodeStatus } from '@meshcast/node'
import { childEnded } from './child-end.ts'
import { nodeEnvironment } from './node-env.ts'
import { waitFor } from './wait-for.ts'

/** The daemon's entry point, run with this very Node binary (>= 22). */
export const MESHCAST_BIN = join(
  dirname(fileURLToPath(import.meta.resolve('@meshcast/node'))),
  '..',
  'bin',
  'meshcast.js',
)

export const DEFAULT_READY_TIMEOUT_MS = 20_000
export const DEFAULT_STOP_TIMEOUT_MS = 10_000

/** Every child the launcher started and has not seen exit; killed when the test process exits. */
const live = new Set<ChildProcess>()
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL')
})

export interface NodeProcessOptions {
  /** short name for logs, e.g. `origin-1` */
  name: string
  conf: string
  host: string
  /** ports the node listens on, when not the defaults (5080, 1935) */
  httpPort?: number
  rtmpPort?: number
  /** extra CLI flags after `start` */
  args?: string[]
  env?: Record<string, string>
  /** working directory of the process; default: this one's */
  cwd?: string
  /**
   * Rewrites the command line before spawning, e.g. `(argv) => lan.wrap(i, argv)`
   * to run the node inside a network namespace. The wrapper must exec the
   * command (as `ip netns exec` does), so signals reach the node itself.
   */
  wrap?: (argv: string[]) => string[]
  /** How to reach the node's HTTP listener (default: the global fetch), e.g. from inside its namespace. */
  fetch?: (url: string) => Promise<Response>
}

export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
}

/** One `meshcast start` process, its output kept for the test's failure report. */
export class NodeProcess {
  readonly name: string
  readonly host: string
  /** the conf folder it runs with */
  readonly conf: string
  readonly httpPort: number
  readonly rtmpPort: number
  readonly child: ChildProcess
  readonly exited: Promise<Exit>
  readonly #lines: string[] = []
  /** the lines that are JSON log records, parsed once as they arrive */
  readonly #records: Record<string, unknown>[] = []
  readonly #fetch: (url: string) => Promise<Response>
  #exit: Exit | null = null

  constructor(opts: NodeProcessOptions) {
    this.name = opts.name
    this.host = opts.host
    this.conf = opts.conf
    this.httpPort = opts.httpPort ?? 5080
    this.rtmpPort = opts.rtmpPort ?? 1935
    const args = [MESHCAST_BIN, 'start', '--conf', opts.conf, '--host', opts.host]
    args.push('--http-port', String(this.httpPort), '--rtmp-port', String(this.rtmpPort))
    args.push('--log-format', 'json', '--log-level', 'debug', '--stop-on-stdin-close', ...(opts.args ?? []))
    this.#fetch = opts.fetch ?? ((url) => fetch(url))
    const [file, ...argv] = opts.wrap?.([process.execPath, ...args]) ?? [process.execPath, ...args]
    if (file === undefined) throw new RangeError(`${this.name}: wrap returned an empty command`)
    // stdin stays open as a lifeline: if this test process dies, the node sees EOF and stops.
    this.child = spawn(file, argv, {
      stdio: ['pipe', 'pipe', 'pipe'],
      cwd: opts.cwd,
      env: nodeEnvironment(opts.env),
    })
    live.add(this.child)
    for (const input of [this.child.stdout, this.child.stderr])
      if (input)
        createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY }).on('line', (line) =>
          this.#collect(line),
        )
    this.exited = new Promise((resolve) => {
      const exited = (code: number | null, signal: NodeJS.Signals | null) => {
        if (this.#exit !== null) return
        live.delete(this.child)
        this.#exit = { code, signal }
        resolve(this.#exit)
      }
      // with its last lines read: a test judges what a node logged as it stopped
      childEnded(this.child).then(({ code, signal }) => exited(code, signal))
      // e.g. a `wrap` naming a program that is not there: no 'exit' follows
      this.child.once('error', (err) => {
        this.#collect(`${file}: ${err.message}`)
        if (this.child.pid === undefined) exited(null, null)
      })
    })
  }

  get httpUrl(): string {
    return `http://${this.host}:${this.httpPort}`
  }

  get rtmpUrl(): string {
    return `rtmp://${this.host}:${this.rtmpPort}`
  }

  get exit(): Exit | null {
    return this.#exit
  }

  /** Everything the node printed so far. */
  log(): string {
    return this.#lines.join('\n')
  }

  /** Lines parsed as JSON log records (the launcher asks for --log-format json). */
  records(): Record<string, unknown>[] {
    return [...this.#records]
  }

  /** GETs a path of the node's HTTP listener (through `fetch` when one was given). */
  async httpGet(path: string): Promise<Response> {
    return await this.#fetch(`${this.httpUrl}${path}`)
  }

  async status(): Promise<NodeStatus> {
    const res = await this.httpGet('/api/status')
    if (!res.ok) throw new Error(`${this.name}: /api/status answered ${res.status}`)
    return (await res.json()) as NodeStatus
  }

  /** Resolves once /api/status says ready; rejects at once if the process exits first. */
  async ready(timeout = DEFAULT_READY_TIMEOUT_MS): Promise<NodeStatus> {
    return await waitFor(
      async () => {
        if (this.#exit !== null) throw new ExitedError(this.name, this.#exit)
        const status = await this.status()
        return status.ready ? status : undefined
      },
      { timeout, what: `${this.name} to be ready`, interval: 50, fatal: (e) => e instanceof ExitedError },
    )
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.#exit === null) this.child.kill(signal)
  }

  /** SIGTERM, then SIGKILL if it has not exited in time. Resolves with how it exited. */
  async stop(timeout = DEFAULT_STOP_TIMEOUT_MS): Promise<Exit> {
    if (this.#exit !== null) return this.#exit
    this.child.kill('SIGTERM')
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeout)
    const exit = await this.exited
    clearTimeout(timer)
    return exit
  }

  #collect(line: string): void {
    if (line === '') return
    this.#lines.push(line)
    try {
      this.#records.push(JSON.parse(line) as Record<string, unknown>)
    } catch {
      // not a log record (e.g. a stack trace line)
    }
  }
}

export class ExitedError extends Error {
  constructor(name: string, exit: Exit) {
    super(`${name} exited before it was ready (code ${exit.code}, signal ${exit.signal})`)
    this.name = 'ExitedError'
  }
}
