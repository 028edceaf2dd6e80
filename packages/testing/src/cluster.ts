import { rmSync } from 'node:fs'
import type { ClusterXmlOptions } from './conf-writer.ts'
import { writeConfDir } from './conf-writer.ts'
import { type CancellableContext, guarded } from './fixture.ts'
import { loopbackSubnet, uniquePassword } from './loopback.ts'
import { NetnsLan, type NetnsLanOptions } from './netns.ts'
import { NodeProcess, type NodeProcessOptions } from './node-process.ts'

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
  /** variables on top of this process's environment (e.g. `NODE_OPTIONS` for a profile) */
  env?: Record<string, string>
  /** wait for `ready` (default true) */
  ready?: boolean
}

export interface TestClusterOptions {
  /** run node i inside host i of this LAN, on its address, with mDNS on, instead of on loopback */
  lan?: NetnsLan
}

/**
 * The nodes of one test: each on its own address with the default ports, all
 * sharing a password no other test uses. Addresses are loopback ones, or with
 * a `lan` node i runs in LAN host i's namespace on `lan.address(i)`.
 */
export class TestCluster {
  readonly password = uniquePassword()
  readonly nodes: NodeProcess[] = []
  readonly lan: NetnsLan | undefined
  readonly #address = loopbackSubnet()
  readonly #confDirs: string[] = []
  /** how node i was launched, to launch it again (`restart`) */
  readonly #launches: NodeProcessOptions[] = []
  /** earlier runs of restarted nodes, for the report */
  readonly #earlier: NodeProcess[] = []

  constructor(opts: TestClusterOptions = {}) {
    this.lan = opts.lan
  }

  /** The address the next node (or node `index`) gets. */
  address(index = this.nodes.length): string {
    return this.lan === undefined ? this.#address(index) : this.lan.address(index)
  }

  async start(opts: StartNodeOptions = {}): Promise<NodeProcess> {
    const index = this.nodes.length
    const lan = this.lan
    if (lan !== undefined && index >= lan.hostCount) {
      throw new RangeError(
        `node ${index} needs LAN host ${index}; the LAN has ${lan.hostCount} (lan.addHost())`,
      )
    }
    const conf = writeConfDir(
      { password: this.password, publicIp: this.address(index), ...opts.cluster },
      { ...this.#meshDefaults(index), ...opts.properties },
    )
    this.#confDirs.push(conf)
    const launch: NodeProcessOptions = {
      name: opts.name ?? `node-${index}`,
      conf,
      host: this.address(index),
      ...(lan === undefined
        ? {}
        : {
            wrap: (argv: string[]) => lan.wrap(index, argv),
            fetch: (url: string) => lan.fetch(index, url),
          }),
      ...(opts.httpPort === undefined ? {} : { httpPort: opts.httpPort }),
      ...(opts.rtmpPort === undefined ? {} : { rtmpPort: opts.rtmpPort }),
      ...(opts.args === undefined ? {} : { args: opts.args }),
      ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }),
      ...(opts.env === undefined ? {} : { env: opts.env }),
    }
    this.#launches.push(launch)
    const node = new NodeProcess(launch)
    this.nodes.push(node)
    if (opts.ready !== false) await node.ready()
    return node
  }

  /**
   * Starts node `index` again on the same address, ports and conf folder,
   * as a host that reboots: stops the old process first if it still runs
   * (a killed one is just replaced). It gets a new node id, as every run does.
   */
  async restart(index: number, opts: { ready?: boolean } = {}): Promise<NodeProcess> {
    const old = this.nodes[index]
    const launch = this.#launches[index]
    if (old === undefined || launch === undefined) throw new RangeError(`no node ${index} to restart`)
    await old.stop()
    this.#earlier.push(old)
    const node = new NodeProcess(launch)
    this.nodes[index] = node
    if (opts.ready !== false) await node.ready()
    return node
  }

  /**
   * On loopback: mDNS off (its packets would leave by the default interface
   * onto the real LAN) and every node seeded with the first one instead. On a
   * LAN: the daemon's defaults, so nodes find each other by mDNS.
   */
  #meshDefaults(index: number): Record<string, string> {
    if (this.lan !== undefined) return {}
    return index === 0 ? { 'mesh.mdns': 'false' } : { 'mesh.mdns': 'false', 'mesh.peers': this.address(0) }
  }

  /** Starts `count` nodes at once (each on its own address) and waits until all are ready. */
  async startMany(count: number, opts: Omit<StartNodeOptions, 'name'> = {}): Promise<NodeProcess[]> {
    const starting: Promise<NodeProcess>[] = []
    for (let i = 0; i < count; i++) starting.push(this.start(opts))
    return await Promise.all(starting)
  }

  /** The last lines of every node's output (and the LAN's state), for a failed test. */
  report(): string {
    const nodes = [...this.#earlier, ...this.nodes].map((n) => {
      const lines = n.log().split('\n').slice(-REPORT_TAIL_LINES).join('\n')
      const run = this.#earlier.includes(n) ? ', an earlier run' : ''
      return `----- ${n.name} (${n.host}${run}) exit=${JSON.stringify(n.exit)} -----\n${lines}`
    })
    return [...(this.lan === undefined ? [] : [this.lan.describe()]), ...nodes].join('\n')
  }

  /**
   * A body that prints `report()` when it throws, for tests sharing this
   * cluster across a `describe` (each node's log, while the nodes still run).
   */
  reporting(body: () => Promise<void>): () => Promise<void> {
    return async () => {
      try {
        await body()
      } catch (err) {
        process.stdout.write(this.report())
        throw err
      }
    }
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop()))
    for (const dir of this.#confDirs.splice(0)) rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * Wraps a test body: gives it a fresh cluster, prints every node's log when
 * the body fails or the test is cancelled, and always stops the nodes.
 */
export function withCluster<T extends CancellableContext>(
  body: (cluster: TestCluster, t: T) => Promise<void>,
): (t: T) => Promise<void> {
  return async (t: T) => {
    const cluster = new TestCluster()
    await guarded(t, { report: () => cluster.report(), teardown: () => cluster.stopAll() }, () =>
      body(cluster, t),
    )
  }
}

/** The part of node:test's TestContext that `withLan` uses. */
export interface SkippableContext extends CancellableContext {
  skip(message?: string): void
}

/** Whether this runs in CI (`CI` set to anything but empty, `0` or `false`). */
export function inCi(): boolean {
  const ci = process.env.CI
  return ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false'
}

/**
 * Skips the test with `reason` when no LAN can be built, or fails it in CI
 * (where a skipped multi-host test would hide a broken runner).
 */
/**
 * Skips the test for want of `what` (naming `reason`), or fails it in CI,
 * where a skipped test would hide a machine that lacks what the suite needs.
 */
export function skipOrFail(what: string, reason: string, t: SkippableContext, ci = inCi()): void {
  if (ci) throw new Error(`this test needs ${what}, which CI must provide: ${reason}`)
  t.skip(reason)
}

export function skipOrFailWithoutLan(reason: string, t: SkippableContext, ci = inCi()): void {
  skipOrFail('network namespaces', reason, t, ci)
}

/**
 * Like `withCluster`, on a LAN of `hostCount` network namespaces: gives the
 * body a `TestCluster` whose node i runs on LAN host i, prints the LAN's state
 * and every node's log when the body fails or the test is cancelled, and
 * always stops the nodes and destroys the LAN. Without namespaces (not root,
 * no `ip`) the test is skipped, or fails when `CI` is set.
 */
export function withLan<T extends SkippableContext>(
  hostCount: number,
  body: (cluster: TestCluster, lan: NetnsLan, t: T) => Promise<void>,
  opts: NetnsLanOptions = {},
): (t: T) => Promise<void> {
  return async (t: T) => {
    const reason = await NetnsLan.available()
    if (reason !== null) {
      skipOrFailWithoutLan(reason, t)
      return
    }
    const lan = await NetnsLan.create(hostCount, opts)
    const cluster = new TestCluster({ lan })
    const teardown = async () => {
      try {
        await cluster.stopAll()
      } finally {
        await lan.destroy()
      }
    }
    await guarded(t, { report: () => cluster.report(), teardown }, () => body(cluster, lan, t))
  }
}
