import { type ChildProcess, fork } from 'node:child_process'
import type { InvokeReply } from '@meshcast/interface'
import type { PeerCommand, PeerReport, PeerSetup } from './protocol.ts'

const CHILD = new URL('./child.ts', import.meta.url)

/** Every peer not yet seen exit; killed when the test process exits. */
const live = new Set<ChildProcess>()
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL')
})

type Reply = { id: number; ok: boolean; value?: unknown; error?: string }

/**
 * A bare mesh member (`@meshcast/mesh`, no media, no HTTP) in its own
 * process, driven over IPC. For bus tests and benchmarks: the daemon has
 * no bus traffic of its own to observe.
 */
export class MeshPeer {
  readonly name: string
  readonly child: ChildProcess
  /** the report sent once the mesh has joined (rejects if it failed to start) */
  readonly started: Promise<PeerReport>
  readonly exited: Promise<number | null>
  readonly #waiting = new Map<number, (r: Reply) => void>()
  #nextId = 1
  #lastReport: PeerReport | null = null

  /** `netns`: run inside that network namespace (`ip netns exec` keeps the IPC channel's fd). */
  constructor(name: string, setup: PeerSetup, opts: { netns?: string } = {}) {
    this.name = name
    const inNs =
      opts.netns === undefined
        ? {}
        : { execPath: 'ip', execArgv: ['netns', 'exec', opts.netns, process.execPath] }
    this.child = fork(CHILD.pathname, [JSON.stringify(setup)], {
      execPath: process.execPath,
      execArgv: [],
      ...inNs,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    live.add(this.child)
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code) => {
        live.delete(this.child)
        for (const w of this.#waiting.values())
          w({ id: -1, ok: false, error: `peer ${name} exited (${code})` })
        this.#waiting.clear()
        resolve(code)
      }),
    )
    this.child.on('message', (m: Reply) => this.#waiting.get(m.id)?.(m))
    this.started = new Promise<Reply>((resolve) => this.#waiting.set(0, resolve)).then((r) => {
      this.#waiting.delete(0)
      if (!r.ok) throw new Error(`peer ${name} failed to start: ${r.error}`)
      return r.value as PeerReport
    })
  }

  get pid(): number | undefined {
    return this.child.pid
  }

  async request<T>(cmd: PeerCommand, timeoutMs = 60_000): Promise<T> {
    const id = this.#nextId++
    const reply = await new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`peer ${this.name}: "${cmd.op}" timed out`)), timeoutMs)
      this.#waiting.set(id, (r) => {
        clearTimeout(timer)
        this.#waiting.delete(id)
        resolve(r)
      })
      this.child.send({ id, cmd })
    })
    if (!reply.ok) throw new Error(`peer ${this.name}: ${reply.error}`)
    return reply.value as T
  }

  async report(): Promise<PeerReport> {
    this.#lastReport = await this.request<PeerReport>({ op: 'report' })
    return this.#lastReport
  }

  send(cmd: Omit<Extract<PeerCommand, { op: 'send' }>, 'op'>): Promise<{ sent: number }> {
    return this.request({ op: 'send', ...cmd })
  }

  invoke(cmd: Omit<Extract<PeerCommand, { op: 'invoke' }>, 'op'>): Promise<InvokeReply[]> {
    return this.request({ op: 'invoke', ...cmd })
  }

  /** Leaves cleanly, then the process exits. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return
    await this.request({ op: 'stop' }, 10_000).catch(() => {})
    this.child.disconnect()
    await Promise.race([this.exited, new Promise((r) => setTimeout(r, 5000))])
    this.kill('SIGKILL')
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal)
  }

  /** The last log lines the peer kept, for a failed test's report. */
  async logTail(): Promise<string> {
    const r = await this.report().catch(() => this.#lastReport)
    return r === null ? '(no report)' : r.log.join('\n')
  }
}
