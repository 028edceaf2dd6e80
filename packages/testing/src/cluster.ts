import { rmSync } from 'node:fs'
import type { ClusterXmlOptions } from './conf-writer.ts'
import { writeConfDir } from './conf-writer.ts'
import { loopbackSubnet, uniquePassword } from './loopback.ts'
import { NodeProcess } from './node-process.ts'

/** How many log lines of each node a failure report shows. */
export const REPORT_TAIL_LINES = 200

export interface StartNodeOptions {
  name?: string
  /** cluster.xml properties; `password` defaults to the cluster's own */
  cluster?: ClusterXmlOptions
  /** red5.properties keys */
  properties?: Record<string, string | number>
  httpPort?: number
  rtmpPort?: number
  args?: string[]
  cwd?: string
  /** wait for `ready` (default true) */
  ready?: boolean
}

/**
 * The nodes of one test: each on its own loopback address with the default
 * ports, all sharing a password no other test uses.
 */
export class TestCluster {
  readonly password = uniquePassword()
  readonly nodes: NodeProcess[] = []
  readonly #address = loopbackSubnet()
  readonly #confDirs: string[] = []

  /** The address the next node (or node `index`) gets. */
  address(index = this.nodes.length): string {
    return this.#address(index)
  }

  async start(opts: StartNodeOptions = {}): Promise<NodeProcess> {
    const index = this.nodes.length
    const conf = writeConfDir(
      { password: this.password, publicIp: this.address(index), ...opts.cluster },
      { ...this.#meshDefaults(index), ...opts.properties },
    )
    this.#confDirs.push(conf)
    const node = new NodeProcess({
      name: opts.name ?? `node-${index}`,
      conf,
      host: this.address(index),
      ...(opts.httpPort === undefined ? {} : { httpPort: opts.httpPort }),
      ...(opts.rtmpPort === undefined ? {} : { rtmpPort: opts.rtmpPort }),
      ...(opts.args === undefined ? {} : { args: opts.args }),
      ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }),
    })
    this.nodes.push(node)
    if (opts.ready !== false) await node.ready()
    return node
  }

  /**
   * mDNS off (on loopback its packets would leave by the default interface
   * onto the real LAN) and every node seeded with the first one instead.
   */
  #meshDefaults(index: number): Record<string, string> {
    return index === 0 ? { 'mesh.mdns': 'false' } : { 'mesh.mdns': 'false', 'mesh.peers': this.address(0) }
  }

  /** Starts `count` nodes at once (each on its own address) and waits until all are ready. */
  async startMany(count: number, opts: Omit<StartNodeOptions, 'name'> = {}): Promise<NodeProcess[]> {
    const starting: Promise<NodeProcess>[] = []
    for (let i = 0; i < count; i++) starting.push(this.start(opts))
    return await Promise.all(starting)
  }

  /** The last lines of every node's output, for a failed test. */
  report(): string {
    return this.nodes
      .map((n) => {
        const lines = n.log().split('\n').slice(-REPORT_TAIL_LINES).join('\n')
        return `----- ${n.name} (${n.host}) exit=${JSON.stringify(n.exit)} -----\n${lines}`
      })
      .join('\n')
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop()))
    for (const dir of this.#confDirs.splice(0)) rmSync(dir, { recursive: true, force: true })
  }
}

/** The part of node:test's TestContext that `withCluster` uses. */
interface CancellableContext {
  signal?: AbortSignal
}

/**
 * Wraps a test body: gives it a fresh cluster, prints every node's log when
 * the body fails or the test is cancelled (node:test abandons a timed-out
 * body, so the abort signal is the only way to learn of it), and always
 * stops the nodes.
 */
export function withCluster<T extends CancellableContext>(
  body: (cluster: TestCluster, t: T) => Promise<void>,
): (t: T) => Promise<void> {
  return async (t: T) => {
    const cluster = new TestCluster()
    const onAbort = () => {
      process.stderr.write(`\ntest cancelled; node logs:\n${cluster.report()}\n`)
      void cluster.stopAll()
    }
    t.signal?.addEventListener('abort', onAbort, { once: true })
    try {
      await body(cluster, t)
    } catch (err) {
      process.stderr.write(`\n${cluster.report()}\n`)
      throw err
    } finally {
      t.signal?.removeEventListener('abort', onAbort)
      await cluster.stopAll()
    }
  }
}
