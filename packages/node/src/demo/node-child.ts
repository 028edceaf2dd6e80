import { type ChildProcess, spawn } from 'node:child_process'
import { createWriteStream, mkdirSync, type WriteStream, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { MeshcastError } from '@meshcast/interface'
import type { DemoNode } from './plan.ts'

/** The CLI the demo runs once per node (node-media-server allows one node per process). */
export const MESHCAST_BIN = fileURLToPath(new URL('../../bin/meshcast.js', import.meta.url))
/** ms a node may take to log `ready`. */
export const READY_TIMEOUT_MS = 30_000
/** ms a node may take to stop after SIGTERM before it is killed. */
export const STOP_TIMEOUT_MS = 15_000

/** A demo node that did not come up: names it and quotes its last error. */
export class DemoNodeError extends MeshcastError {
  constructor(name: string, why: string) {
    super(`${name} did not start: ${why}`)
    this.name = 'DemoNodeError'
  }
}

/** One line of a node's JSON log, as far as the demo reads it. */
interface LogLine {
  level?: string
  message?: string
  [key: string]: unknown
}

/**
 * A `meshcast start` child for one demo node: conf folder and log file in
 * `dir`, its warnings and errors passed to `onLine`. It runs in its own
 * process group, so the terminal's Ctrl-C reaches the demo only and the
 * demo stops the nodes itself; it stops if the demo dies (stdin closes).
 */
export class NodeChild {
  readonly node: DemoNode
  readonly dir: string
  readonly logFile: string
  #child: ChildProcess | null = null
  #log: WriteStream | null = null
  #exited: Promise<number | null> | null = null
  #lastError = ''

  constructor(node: DemoNode, dir: string) {
    this.node = node
    this.dir = join(dir, node.name)
    this.logFile = join(this.dir, 'node.log')
  }

  get pid(): number | undefined {
    return this.#child?.pid
  }

  /** Whether the process runs now (started and not exited). */
  get running(): boolean {
    const child = this.#child
    return child !== null && child.exitCode === null && child.signalCode === null
  }

  /** Resolves with the exit code once the process has exited (null: killed by a signal). */
  get exited(): Promise<number | null> {
    return this.#exited ?? Promise.resolve(0)
  }

  /** Starts the node; resolves once it logs `ready`, rejects with DemoNodeError if it exits or times out first. */
  async start(onLine: (node: DemoNode, line: LogLine) => void): Promise<void> {
    const conf = join(this.dir, 'conf')
    mkdirSync(conf, { recursive: true })
    for (const [file, text] of Object.entries(this.node.files)) writeFileSync(join(conf, file), text)
    this.#log = createWriteStream(this.logFile)
    const child = spawn(
      process.execPath,
      [MESHCAST_BIN, 'start', '--conf', conf, '--log-format', 'json', '--stop-on-stdin-close'],
      { stdio: ['pipe', 'pipe', 'pipe'], detached: true },
    )
    this.#child = child
    this.#exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)))
    const { promise: ready, resolve, reject } = Promise.withResolvers<void>()
    // the node logs to stderr, one JSON object a line; anything else there (a crash) is kept as the last error
    const read = (raw: string) => {
      const line = parse(raw)
      if (line === null) {
        if (raw.trim() !== '') this.#lastError = raw.trim()
        return
      }
      if (line.message === 'ready') resolve()
      if (line.level === 'error') this.#lastError = String(line.message)
      if (line.level === 'warn' || line.level === 'error') onLine(this.node, line)
    }
    child.stdout?.setEncoding('utf8').on('data', (text: string) => this.#log?.write(text))
    child.stderr?.setEncoding('utf8').on('data', (text: string) => this.#log?.write(text))
    if (child.stderr)
      createInterface({ input: child.stderr, crlfDelay: Number.POSITIVE_INFINITY }).on('line', read)
    void this.#exited.then((code) =>
      reject(
        new DemoNodeError(
          this.node.name,
          `it exited (code ${code}): ${this.#lastError || `see ${this.logFile}`}`,
        ),
      ),
    )
    const timer = setTimeout(
      () =>
        reject(
          new DemoNodeError(
            this.node.name,
            `not ready after ${READY_TIMEOUT_MS / 1000} s; see ${this.logFile}`,
          ),
        ),
      READY_TIMEOUT_MS,
    )
    try {
      await ready
    } finally {
      clearTimeout(timer)
    }
  }

  /** SIGTERM, then SIGKILL after STOP_TIMEOUT_MS; resolves with the exit code (null when killed). */
  async stop(): Promise<number | null> {
    const child = this.#child
    const exited = this.#exited
    if (child === null || exited === null) return 0
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS)
    try {
      return await exited
    } finally {
      clearTimeout(timer)
      this.#log?.end()
    }
  }
}

function parse(raw: string): LogLine | null {
  if (!raw.startsWith('{')) return null
  try {
    return JSON.parse(raw) as LogLine
  } catch {
    return null
  }
}
