import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Logger } from '@meshcast/interface'
import { startTestPublisher } from '../ffmpeg.ts'
import { NodeChild } from './node-child.ts'
import { DEMO_STREAM, type DemoNode, rtmpOf } from './plan.ts'

export interface DemoClusterEvents {
  /** a line of progress while it starts */
  progress(text: string): void
  /** a node's warning or error, or a node that exited on its own */
  notice(node: string, text: string): void
}

/**
 * The demo's processes: one `meshcast start` per node (origins first, so the
 * first one leads), then the test publisher on the first origin (or every one). Stopping
 * ends the publishers, then every node at once, and removes the conf folders
 * and logs.
 */
export class DemoCluster {
  readonly nodes: readonly DemoNode[]
  readonly dir: string
  readonly children: NodeChild[]
  readonly #log: Logger
  readonly #on: DemoClusterEvents
  readonly #publishers: ChildProcess[] = []
  /** the origins the test pattern is published to */
  readonly publishedTo: DemoNode[] = []
  #stopping = false

  constructor(nodes: readonly DemoNode[], logger: Logger, on: DemoClusterEvents) {
    this.nodes = nodes
    this.dir = mkdtempSync(join(tmpdir(), 'meshcast-demo-'))
    this.children = nodes.map((n) => new NodeChild(n, this.dir))
    this.#log = logger
    this.#on = on
  }

  /** Starts every node; throws DemoNodeError (after stopping what started) when one does not come up. */
  async start(): Promise<void> {
    const [first, ...rest] = this.children
    if (first === undefined) return
    const n = (c: NodeChild) => this.children.indexOf(c) + 1
    try {
      // the first origin leads; the other origins join it; the edges, which dial every origin, come last
      await this.#startOne(first, 1)
      const origins = rest.filter((c) => c.node.role === 'origin')
      await Promise.all(origins.map((c) => this.#startOne(c, n(c))))
      await Promise.all(rest.filter((c) => c.node.role !== 'origin').map((c) => this.#startOne(c, n(c))))
    } catch (err) {
      await this.stop(true)
      throw err
    }
  }

  async #startOne(child: NodeChild, n: number): Promise<void> {
    const { name, address } = child.node
    this.#on.progress(`starting ${name} on ${address} (${n}/${this.children.length})`)
    const t0 = performance.now()
    await child.start((node, line) =>
      this.#on.notice(
        node.name,
        `${line.level}: ${line.message}${line.error === undefined ? '' : ` (${String(line.error)})`}`,
      ),
    )
    this.#on.progress(`${name} ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
    void child.exited.then((code) => {
      if (!this.#stopping) this.#on.notice(name, `exited (code ${code}); its log: ${child.logFile}`)
    })
  }

  /**
   * Publishes the test pattern to the first origin, or to every origin
   * (`redundant`: a redundant publish, so an edge can fail over). When
   * ffmpeg cannot run it warns and stops trying; `publishedTo` says where it
   * publishes.
   */
  async publish(redundant = false): Promise<void> {
    const origins = this.nodes.filter((n) => n.role === 'origin').slice(0, redundant ? undefined : 1)
    for (const origin of origins) {
      this.#on.progress(`starting the test publisher (ffmpeg) on ${origin.name}`)
      try {
        const child = await startTestPublisher(
          `${rtmpOf(origin)}/${DEMO_STREAM}`,
          this.#log.child({ component: 'test-publisher', origin: origin.name }),
        )
        this.#publishers.push(child)
        this.publishedTo.push(origin)
      } catch (err) {
        this.#log.warn('no test publisher', { reason: err instanceof Error ? err.message : String(err) })
        return
      }
    }
  }

  /**
   * Stops the publisher, then the edges (they drain at once), then the
   * origins, so no edge sees its upstream vanish. Resolves with 0, or 1 when
   * a node did not stop cleanly or had died; the logs are removed after a
   * clean run, kept otherwise.
   */
  async stop(keepLogs = false): Promise<number> {
    this.#stopping = true
    await Promise.all(this.#publishers.splice(0).map(stopChild))
    const running = new Set(this.children.filter((c) => c.running))
    const codes = new Map<NodeChild, number | null>()
    for (const role of ['edge', 'origin'] as const) {
      const group = this.children.filter((c) => c.node.role === role)
      for (const [i, code] of (await Promise.all(group.map((c) => c.stop()))).entries())
        codes.set(group[i] as NodeChild, code)
    }
    const bad = this.children.filter((c) => codes.get(c) !== 0)
    // a node that had exited already (it failed to start, or died) was reported then
    for (const c of bad.filter((c) => running.has(c)))
      this.#on.notice(c.node.name, `did not stop cleanly; its log: ${c.logFile}`)
    if (bad.length === 0 && !keepLogs) rmSync(this.dir, { recursive: true, force: true })
    return bad.length === 0 ? 0 : 1
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  await exited
}
