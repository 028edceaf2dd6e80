import type { BusMessage, Logger, Role, View } from '@meshcast/interface'
import { Mesh } from '../mesh.ts'
import type { MeshInit } from '../options.ts'
import type { Seed } from '../transport/transport.ts'
import { LAN, type LinkFaults, MemoryNetwork, type MemoryTransport } from './memory-network.ts'
import { Random } from './random.ts'
import { Scheduler, SIM_EPOCH } from './scheduler.ts'

/** The mesh port every simulated node listens on (each has an address of its own). */
const MESH_PORT = 7800
/** The bus channel the simulation's own messages ride. */
const CHANNEL = 'sim.log'
/** Log lines kept for a failure report. */
const LOG_LINES = 3000

export interface SimulationInit {
  seed: number
  /** mesh options every node gets (password, host and port are the simulation's) */
  mesh?: Partial<Omit<MeshInit, 'password' | 'host' | 'port' | 'self' | 'seeds' | 'mdns'>>
  faults?: LinkFaults
}

export interface NodeSpec {
  role: Role
  /** names of the nodes whose addresses it has as seeds */
  seeds?: readonly string[]
  mdns?: boolean
}

/** One simulated process. A restart is a new SimNode at the same address. */
export interface SimNode {
  name: string
  /** the scheduler's owner: one per process, so a restart gets a new one */
  owner: string
  spec: NodeSpec
  address: Seed
  mesh: Mesh
  transport: MemoryTransport
  state: 'starting' | 'up' | 'stopped' | 'killed'
  /** per sender id: the numbers of its messages this node delivered, in order */
  delivered: Map<string, number[]>
  /** keys (`sender/number`) of the log: what the bus delivered, and what state transfer brought */
  log: Set<string>
  /** messages this node sent (numbered from 1) */
  sent: number
  /** virtual ms at which each of its sent messages went out */
  sentAt: number[]
  /** view counters in the order this node installed them */
  counters: number[]
  /** virtual ms (scheduler time) of its last view change, or null before it joined */
  viewSince: number | null
  /** every member it was ever in one view with */
  together: Set<string>
  /** whether it saw a merge or a gap: its log may lack what the other side did */
  diverged: boolean
}

interface LogLine {
  at: number
  node: string
  level: string
  message: string
  fields: Record<string, unknown> | undefined
}

/**
 * A whole cluster in one process: meshes on a MemoryNetwork, on one
 * Scheduler's virtual clock, with every random choice drawn from one seed.
 * Tests start nodes, break things (kill, pause, partition, slow links),
 * let virtual time pass and check what the members agree on. Each node
 * keeps a replicated log (messages on CHANNEL, plus state transfer) so the
 * bus and state transfer can be checked as well as the views.
 */
export class Simulation {
  readonly seed: number
  readonly random: Random
  readonly scheduler = new Scheduler()
  readonly network: MemoryNetwork
  readonly nodes: SimNode[] = []
  /** what went wrong that no node should ever do: an error log line, a listener that threw, a rejected start */
  readonly errors: string[] = []
  readonly #init: SimulationInit
  readonly #lines: LogLine[] = []
  #incarnations = 0
  readonly #addresses = new Map<string, Seed>()

  constructor(init: SimulationInit) {
    this.seed = init.seed
    this.#init = init
    this.random = new Random(init.seed)
    const mesh = init.mesh ?? {}
    this.network = new MemoryNetwork(this.scheduler, this.random.fork(), {
      dialTimeout: mesh.dialTimeout ?? 5000,
      requestTimeout: mesh.requestTimeout ?? 5000,
      mdnsInterval: mesh.mdnsInterval ?? 2000,
      maxFrameBytes: 64 * 1024 * 1024,
    })
    this.network.setFaults(init.faults ?? LAN)
  }

  get now(): number {
    return this.scheduler.now - SIM_EPOCH
  }

  /** Starts a node (it joins as its start runs, on virtual time). */
  add(name: string, spec: NodeSpec): SimNode {
    if (this.nodes.some((n) => n.name === name)) throw new Error(`a node ${name} exists; restart it instead`)
    return this.#spawn(name, spec, this.addressOf(name))
  }

  /** The address a node has (or will have) by its name: seeds may name nodes not started yet. */
  addressOf(name: string): Seed {
    let address = this.#addresses.get(name)
    if (address === undefined) {
      const n = this.#addresses.size + 1
      address = { host: `10.0.${n >> 8}.${n & 255}`, port: MESH_PORT }
      this.#addresses.set(name, address)
    }
    return address
  }

  /** The newest incarnation of `name`. */
  node(name: string): SimNode {
    for (let i = this.nodes.length - 1; i >= 0; i--)
      if (this.nodes[i]?.name === name) return this.nodes[i] as SimNode
    throw new Error(`no node ${name}`)
  }

  /** Live processes: started and neither stopped nor killed (paused ones included). */
  live(): SimNode[] {
    return this.nodes.filter((n) => n.state === 'starting' || n.state === 'up')
  }

  /** SIGKILL: the process is gone, its connections close at the other ends. */
  kill(name: string): void {
    const n = this.node(name)
    if (n.state === 'killed' || n.state === 'stopped') return
    n.state = 'killed'
    this.scheduler.kill(n.owner)
    this.network.kill(n.transport)
  }

  /** SIGSTOP: nothing of it runs until `resume`; its sockets stay open. */
  pause(name: string): void {
    this.scheduler.pause(this.node(name).owner)
  }

  /** SIGCONT */
  resume(name: string): void {
    this.scheduler.resume(this.node(name).owner)
  }

  isPaused(name: string): boolean {
    return this.scheduler.isPaused(this.node(name).owner)
  }

  /** SIGTERM: a clean leave. */
  leave(name: string): void {
    const n = this.node(name)
    if (n.state !== 'up' && n.state !== 'starting') return
    this.scheduler.at(n.owner, 0, () => {
      n.mesh.stop().then(
        () => {
          n.state = 'stopped'
        },
        (err: Error) => this.errors.push(`${n.name}: stop failed: ${err.stack}`),
      )
    })
  }

  /** A new process at the old one's address (a new member id), after killing the old one if needed. */
  restart(name: string): SimNode {
    const old = this.node(name)
    this.kill(name)
    return this.#spawn(name, old.spec, old.address)
  }

  partition(sides: readonly (readonly string[])[]): void {
    this.network.partition(sides.map((names) => names.flatMap((name) => this.#owners(name))))
  }

  heal(): void {
    this.network.heal()
  }

  async run(ms: number): Promise<void> {
    await this.scheduler.run(ms)
  }

  /** Runs until `done` holds (checked every `step` ms) or `limit` ms passed; the ms it took, or null. */
  async until(done: () => boolean, limit: number, step = 50): Promise<number | null> {
    const start = this.scheduler.now
    while (this.scheduler.now - start <= limit) {
      if (done()) return this.scheduler.now - start
      await this.scheduler.run(step)
    }
    return done() ? this.scheduler.now - start : null
  }

  /** Has every up, unpaused node send one message on the log channel (to all). */
  sendRound(): void {
    for (const n of this.live()) {
      if (n.state !== 'up' || this.scheduler.isPaused(n.owner)) continue
      this.scheduler.at(n.owner, 0, () => {
        if (n.state !== 'up' || n.mesh.state !== 'joined') return
        const number = ++n.sent
        n.sentAt.push(this.scheduler.now)
        n.mesh.send({ to: 'all' }, CHANNEL, { n: number }).catch(() => {
          // refused (overload, leaving): it was never sent
        })
      })
    }
  }

  /**
   * Whether every live node is joined and has the same view, naming exactly
   * the live nodes, with one coordinator among them. Null when they agree;
   * otherwise why not.
   */
  disagreement(): string | null {
    const live = this.live()
    const ids = new Set(live.map((n) => n.mesh.id))
    let first: View | null = null
    for (const n of live) {
      if (n.mesh.state !== 'joined') return `${n.name} is ${n.mesh.state}`
      const v = n.mesh.view
      if (first === null) first = v
      if (v.id !== first.id) return `${n.name} has view ${v.id}, ${live[0]?.name} has ${first.id}`
      const members = new Set(v.members.map((m) => m.id))
      if (members.size !== ids.size || [...ids].some((id) => !members.has(id)))
        return `view ${v.id} has ${v.members.length} members, ${ids.size} nodes live`
      if (!members.has(v.coordinator)) return `coordinator ${v.coordinator} of ${v.id} is no member`
    }
    return null
  }

  /**
   * What a cluster that faults tore apart must come back to, or null when it
   * has: every live member joined, in a view naming only live members with
   * its coordinator among them, the same view on every member it names; and
   * any two live members that were ever in one view together in the same one
   * now. Members that never shared a view and have no way to find each other
   * (their only seed died before they met) may stay apart: nothing could
   * bring them together. `disagreement` asks for one view of everyone.
   */
  split(): string | null {
    const live = this.live()
    const byId = new Map(live.map((n) => [n.mesh.id, n]))
    for (const n of live) {
      if (n.mesh.state !== 'joined') return `${n.name} is ${n.mesh.state}`
      const v = n.mesh.view
      if (!v.members.some((m) => m.id === v.coordinator)) return `coordinator of ${v.id} is no member`
      for (const m of v.members) {
        const other = byId.get(m.id)
        if (other === undefined) return `${n.name}'s view ${v.id} names ${this.#nameOf(m.id)}, which is gone`
        if (other.mesh.view.id !== v.id)
          return `${n.name} has view ${v.id}, its member ${other.name} ${other.mesh.view.id}`
      }
      for (const other of live)
        if (other !== n && n.together.has(other.mesh.id) && other.mesh.view.id !== v.id)
          return `${n.name} (view ${v.id}) and ${other.name} (view ${other.mesh.view.id}) were in one view once`
    }
    return null
  }

  /** Who sees what: one line per live node. */
  describe(): string {
    return this.live()
      .map((n) => {
        const v = n.mesh.view
        const paused = this.scheduler.isPaused(n.owner) ? ' (paused)' : ''
        return `${n.name}${paused} ${n.mesh.state} view ${v.id} coordinator ${this.#nameOf(v.coordinator)} members ${v.members.map((m) => this.#nameOf(m.id)).join(',')}`
      })
      .join('\n')
  }

  /** The last log lines of every node, oldest first, as text. */
  report(lines = 200): string {
    return this.#lines
      .slice(-lines)
      .map((l) => {
        const fields = l.fields === undefined ? '' : ` ${JSON.stringify(l.fields, (_k, v) => this.#named(v))}`
        return `${(l.at - SIM_EPOCH).toString().padStart(7)} ${l.node.padEnd(6)} ${l.level.padEnd(5)} ${l.message}${fields}`
      })
      .join('\n')
  }

  #spawn(name: string, spec: NodeSpec, address: Seed): SimNode {
    const owner = `${name}#${++this.#incarnations}`
    const id = `${name.replace(/[^A-Za-z0-9]/g, '')}x${this.random.word(12)}`
    const transport = this.network.transport(owner, id, address, spec.mdns ?? false)
    const seeds = (spec.seeds ?? []).map((s) => this.addressOf(s))
    const clock = this.scheduler.clock(owner)
    const random = this.random.fork()
    const init: MeshInit = {
      ...this.#init.mesh,
      password: 'simulated',
      host: address.host,
      port: address.port,
      self: {
        role: spec.role,
        publicIp: address.host,
        publicPort: 1935,
        http: `${address.host}:5080`,
        privateInstance: false,
      },
      mdns: spec.mdns ?? false,
      seeds,
    }
    const mesh = new Mesh(init, {
      logger: this.#logger(name),
      transport,
      clock,
      random: () => random.next(),
    })
    const node: SimNode = {
      name,
      owner,
      spec,
      address,
      mesh,
      transport,
      state: 'starting',
      delivered: new Map(),
      log: new Set(),
      sent: 0,
      sentAt: [],
      counters: [],
      viewSince: null,
      together: new Set(),
      diverged: false,
    }
    mesh.onMessage(CHANNEL, (m: BusMessage) => {
      const n = (m.data as { n: number }).n
      let seen = node.delivered.get(m.from)
      if (seen === undefined) {
        seen = []
        node.delivered.set(m.from, seen)
      }
      seen.push(n)
      node.log.add(`${m.from}/${n}`)
    })
    mesh.registerState(CHANNEL, {
      provide: () => [...node.log],
      receive: (state) => {
        for (const key of state as string[]) node.log.add(key)
      },
    })
    mesh.events.on('view', (change) => {
      node.counters.push(change.view.counter)
      node.viewSince = this.scheduler.now
      for (const m of change.view.members) node.together.add(m.id)
      if (change.merged) node.diverged = true
    })
    mesh.events.on('gap', () => {
      node.diverged = true
    })
    this.nodes.push(node)
    this.scheduler.at(owner, 0, () => {
      mesh.start().then(
        () => {
          if (node.state === 'starting') node.state = 'up'
        },
        (err: Error) => this.errors.push(`${name}: start failed: ${err.stack}`),
      )
    })
    return node
  }

  #owners(name: string): string[] {
    return this.nodes.filter((n) => n.name === name).map((n) => n.owner)
  }

  #nameOf(id: string): string {
    return this.nodes.find((n) => n.mesh.id === id)?.name ?? id
  }

  #named(v: unknown): unknown {
    if (typeof v !== 'string') return v
    const n = this.nodes.find((x) => x.mesh.id === v)
    return n === undefined ? v : `${n.name}`
  }

  #logger(node: string, bound: Record<string, unknown> = {}): Logger {
    const line = (level: string) => (message: string, fields?: Record<string, unknown>) => {
      if (this.#lines.length >= LOG_LINES) this.#lines.splice(0, LOG_LINES / 3)
      const all = fields === undefined ? bound : { ...bound, ...fields }
      this.#lines.push({ at: this.scheduler.now, node, level, message, fields: all })
      if (level === 'error') this.errors.push(`${node}: ${message} ${JSON.stringify(all)}`)
    }
    return {
      error: line('error'),
      warn: line('warn'),
      info: line('info'),
      debug: line('debug'),
      child: (fields) => this.#logger(node, { ...bound, ...fields }),
    }
  }
}
