import { formatAddress, ListenError, SafeEmitter } from '@meshcast/interface'
import type { Clock } from '../clock.ts'
import type {
  LinkPath,
  MeshTransport,
  Seed,
  TransportEvents,
  TransportHandlers,
} from '../transport/transport.ts'
import { decodeDirectFrame } from '../wire/codec.ts'
import type { DirectFrame } from '../wire/frames.ts'
import type { Random } from './random.ts'
import type { Scheduler } from './scheduler.ts'

/** How the wire between two nodes behaves (one way). */
export interface LinkFaults {
  /** ms one way */
  latency: number
  /** ms added at random, up to this (one way) */
  jitter: number
  /** in [0, 1): a packet lost; TCP sends it again after `rto`, holding up what follows */
  loss: number
  /** ms before a lost packet is sent again (doubling when lost again) */
  rto: number
}

export const LAN: LinkFaults = { latency: 0.2, jitter: 0.3, loss: 0, rto: 200 }

export interface MemoryNetworkInit {
  /** ms a dial that gets no answer waits before it fails (the mesh's dialTimeout) */
  dialTimeout: number
  /** ms a direct exchange may take (the mesh's requestTimeout) */
  requestTimeout: number
  /** ms between two mDNS rounds of a node with mDNS on */
  mdnsInterval: number
  /** largest frame on any path */
  maxFrameBytes: number
}

type Message =
  | { kind: 'gossip'; id: string; topic: string; data: Uint8Array }
  | { kind: 'link'; path: LinkPath; data: Uint8Array }
  | { kind: 'request'; n: number; data: Uint8Array; reply: boolean }
  | { kind: 'reply'; n: number; data: Uint8Array | null; error?: string }
  | { kind: 'ping'; n: number }
  | { kind: 'pong'; n: number }
  | { kind: 'open' }
  | { kind: 'close' }

/** One way of a connection: what is on the wire, delivered in order. */
interface Direction {
  /** virtual ms at which the last message sent this way arrives: none overtakes it (one TCP stream) */
  tail: number
  /** messages that met a partition, held until it heals (TCP keeps retransmitting) */
  stalled: Message[]
}

/** A TCP connection between two nodes, as each end sees it. */
class Connection {
  readonly ends: [MemoryTransport, MemoryTransport]
  readonly open: [boolean, boolean] = [true, true]
  readonly ways: [Direction, Direction] = [
    { tail: 0, stalled: [] },
    { tail: 0, stalled: [] },
  ]

  /**
   * virtual ms from which gossip is relayed over it: gossipsub grafts a new
   * peer into a topic's mesh at its next heartbeat (every second); until
   * then only a publisher's own messages cross it (flood publishing)
   */
  readonly meshAt: number

  constructor(a: MemoryTransport, b: MemoryTransport, meshAt: number) {
    this.ends = [a, b]
    this.meshAt = meshAt
  }

  side(t: MemoryTransport): 0 | 1 {
    return this.ends[0] === t ? 0 : 1
  }

  other(t: MemoryTransport): MemoryTransport {
    return this.ends[1 - this.side(t)] as MemoryTransport
  }
}

interface Pending {
  peer: string
  resolve: (value: Uint8Array | null) => void
  reject: (err: Error) => void
}

/**
 * A network in memory for the simulator: nodes listen at `host:port`, dial
 * each other, and exchange what the mesh sends, each message delayed by its
 * link's latency, jitter and loss (loss as TCP shows it: a late packet
 * holding up the ones behind it, never a missing one). It partitions nodes
 * (messages on open connections wait, as TCP's retransmissions do, and a new
 * dial times out), kills them (their connections close on the other side,
 * as the kernel's FIN does), and, through the scheduler, pauses them.
 * Gossip is gossipsub's in outline: a publisher sends to every connected
 * node, and each relays once to the nodes it has had for a heartbeat (its
 * topic mesh), without scoring or lazy gossip; mDNS finds every node with
 * it on that is on the same side.
 * Not modelled: a connection that breaks by itself, half-open connections
 * after a partition, byte limits and back-pressure, other passwords.
 */
export class MemoryNetwork {
  readonly scheduler: Scheduler
  readonly #random: Random
  readonly #init: MemoryNetworkInit
  readonly #listeners = new Map<string, MemoryTransport>()
  readonly #connections = new Set<Connection>()
  /** per owner: its side of a partition (undefined: none) */
  #sides = new Map<string, number>()
  #faults: LinkFaults = LAN
  #busFrameLoss = 0
  /** per owner: its own link's faults, on top of the network's */
  readonly #nodeFaults = new Map<string, LinkFaults>()
  /** what went wrong inside a node's event listeners: a simulation fails on any */
  readonly errors: string[] = []

  constructor(scheduler: Scheduler, random: Random, init: MemoryNetworkInit) {
    this.scheduler = scheduler
    this.#random = random
    this.#init = init
  }

  /** A node's transport: `owner` names its process in the scheduler. */
  transport(owner: string, id: string, address: Seed, mdns: boolean): MemoryTransport {
    return new MemoryTransport(this, owner, id, address, mdns)
  }

  get init(): MemoryNetworkInit {
    return this.#init
  }

  /** Every link from now on. */
  setFaults(faults: LinkFaults): void {
    this.#faults = faults
  }

  /** The share (0 to 1) of bus frames lost from now on, as a bus link that fails loses its queue. */
  setBusFrameLoss(share: number): void {
    this.#busFrameLoss = share
  }

  /** Whether the bus frame about to be sent is lost. */
  dropsBusFrame(): boolean {
    return this.#busFrameLoss > 0 && this.#random.chance(this.#busFrameLoss)
  }

  /** One node's link (both ways) from now on; null: back to the network's. */
  setNodeFaults(owner: string, faults: LinkFaults | null): void {
    if (faults === null) this.#nodeFaults.delete(owner)
    else this.#nodeFaults.set(owner, faults)
  }

  /** Cuts the network into sides: nodes not named are on a side of their own each. */
  partition(sides: readonly (readonly string[])[]): void {
    this.#sides = new Map()
    sides.forEach((owners, i) => {
      for (const o of owners) this.#sides.set(o, i)
    })
  }

  /** Joins every side again: what waited on open connections goes on. */
  heal(): void {
    this.#sides = new Map()
    for (const c of this.#connections)
      for (const side of [0, 1] as const) {
        const from = c.ends[side]
        const stalled = c.ways[side].stalled.splice(0)
        // already sent: they go on even when that end has closed since (its close is among them)
        for (const m of stalled) this.send(c, from, m, true)
      }
  }

  /** Whether `a` and `b` can reach each other now. */
  reachable(a: string, b: string): boolean {
    if (this.#sides.size === 0) return true
    const sa = this.#sides.get(a)
    const sb = this.#sides.get(b)
    if (sa === undefined || sb === undefined) return a === b
    return sa === sb
  }

  /** The node's process died: nothing listens at its address; its connections close at the other end. */
  kill(t: MemoryTransport): void {
    this.unlisten(t)
    for (const c of [...this.#connections]) {
      if (!c.ends.includes(t)) continue
      const side = c.side(t)
      c.open[side] = false
      c.ways[side].stalled = []
      this.send(c, t, { kind: 'close' }, true)
    }
    t.died()
  }

  listen(t: MemoryTransport): void {
    const key = formatAddress(t.address)
    const there = this.#listeners.get(key)
    if (there !== undefined && there !== t)
      throw new ListenError('mesh', key, Object.assign(new Error('address in use'), { code: 'EADDRINUSE' }))
    this.#listeners.set(key, t)
  }

  unlisten(t: MemoryTransport): void {
    const key = formatAddress(t.address)
    if (this.#listeners.get(key) === t) this.#listeners.delete(key)
  }

  listenerAt(target: Seed): MemoryTransport | undefined {
    return this.#listeners.get(formatAddress(target))
  }

  /** Nodes with mDNS on that `t` would hear answer now. */
  mdnsPeers(t: MemoryTransport): MemoryTransport[] {
    return [...this.#listeners.values()].filter(
      (o) =>
        o !== t &&
        o.mdns &&
        this.reachable(t.owner, o.owner) &&
        !this.scheduler.isPaused(o.owner) &&
        !this.scheduler.isDead(o.owner),
    )
  }

  connect(a: MemoryTransport, b: MemoryTransport): Connection {
    const c = new Connection(a, b, this.scheduler.now + this.#random.next() * GOSSIP_HEARTBEAT_MS)
    this.#connections.add(c)
    return c
  }

  /** ms a message from `a` to `b` takes now (one way). */
  delay(a: string, b: string): number {
    const f = this.#worst(a, b)
    let ms = f.latency + this.#random.next() * f.jitter
    let rto = f.rto
    while (f.loss > 0 && this.#random.chance(f.loss)) {
      ms += rto
      rto = Math.min(rto * 2, 60_000)
    }
    return ms
  }

  /** Puts `m` on the wire from `from`; `sent` (a close, or what a partition held) goes even when `from`'s end is closed. */
  send(c: Connection, from: MemoryTransport, m: Message, sent = false): void {
    const side = c.side(from)
    if (!c.open[side] && !sent) return
    const to = c.other(from)
    const way = c.ways[side]
    const at = Math.max(way.tail, this.scheduler.now + this.delay(from.owner, to.owner))
    way.tail = at
    this.scheduler.at(to.owner, at - this.scheduler.now, () => {
      if (!this.reachable(from.owner, to.owner)) {
        way.stalled.push(m)
        return
      }
      const end = c.side(to)
      if (!c.open[end]) return
      if (m.kind === 'close') {
        c.open[end] = false
        this.#connections.delete(c)
        to.closed(c)
        return
      }
      to.received(c, m)
    })
  }

  /** Closes `t`'s end now; the other end learns it when the close arrives. */
  close(c: Connection, t: MemoryTransport): void {
    const side = c.side(t)
    if (!c.open[side]) return
    this.send(c, t, { kind: 'close' })
    c.open[side] = false
    t.closed(c)
  }

  #worst(a: string, b: string): LinkFaults {
    const base = this.#faults
    const fa = this.#nodeFaults.get(a)
    const fb = this.#nodeFaults.get(b)
    const all = [base, fa, fb].filter((f): f is LinkFaults => f !== undefined)
    return {
      latency: Math.max(...all.map((f) => f.latency)),
      jitter: Math.max(...all.map((f) => f.jitter)),
      loss: 1 - all.reduce((keep, f) => keep * (1 - f.loss), 1),
      rto: Math.max(...all.map((f) => f.rto)),
    }
  }
}

/** ms between gossipsub heartbeats, where new peers join a topic's mesh. */
const GOSSIP_HEARTBEAT_MS = 1000

/** Gossip message ids remembered, so a flood passes each node once. */
const SEEN_CAP = 4096

/** One node's view of the MemoryNetwork: what the mesh sees instead of libp2p. */
export class MemoryTransport implements MeshTransport {
  readonly id: string
  readonly owner: string
  readonly address: Seed
  readonly mdns: boolean
  readonly events: SafeEmitter<TransportEvents>
  readonly #net: MemoryNetwork
  readonly #clock: Clock
  readonly #connections = new Map<string, Connection>()
  readonly #book = new Map<string, Seed>()
  readonly #topics = new Set<string>()
  readonly #seen = new Set<string>()
  readonly #pending = new Map<number, Pending>()
  /** frames waiting for a link's connection to open, per peer */
  readonly #waiting = new Map<string, { path: LinkPath; data: Uint8Array }[]>()
  #handlers: TransportHandlers | null = null
  #n = 0
  #gossipN = 0
  #mdnsTimer: unknown = null
  linkDrops = 0

  constructor(net: MemoryNetwork, owner: string, id: string, address: Seed, mdns: boolean) {
    this.#net = net
    this.#clock = net.scheduler.clock(owner)
    this.owner = owner
    this.id = id
    this.address = address
    this.mdns = mdns
    this.events = new SafeEmitter((err, event) =>
      net.errors.push(`${owner}: a ${String(event)} listener threw: ${(err as Error).stack}`),
    )
  }

  async start(handlers: TransportHandlers): Promise<void> {
    this.#net.listen(this)
    this.#handlers = handlers
    if (this.mdns) {
      const round = () => {
        for (const o of this.#net.mdnsPeers(this)) {
          this.#book.set(o.id, o.address)
          this.events.emit('discovered', o.id)
        }
      }
      this.#clock.soon(round)
      this.#mdnsTimer = this.#clock.setInterval(round, this.#net.init.mdnsInterval)
    }
  }

  async stop(): Promise<void> {
    if (this.#mdnsTimer !== null) this.#clock.clearInterval(this.#mdnsTimer)
    this.#net.unlisten(this)
    for (const c of [...this.#connections.values()]) this.#net.close(c, this)
    this.#handlers = null
  }

  /** The process died (the network's kill): nothing of it runs again. */
  died(): void {
    this.#handlers = null
    this.#connections.clear()
  }

  connectedPeers(): string[] {
    return [...this.#connections.keys()]
  }

  isConnected(peer: string): boolean {
    return this.#connections.has(peer)
  }

  peerHost(peer: string): string | null {
    return this.#connections.has(peer) ? (this.#book.get(peer)?.host ?? null) : null
  }

  dial(target: Seed, options: { peer?: string; signal?: AbortSignal } = {}): Promise<string> {
    const { promise, resolve, reject } = Promise.withResolvers<string>()
    const net = this.#net
    const there = net.listenerAt(target)
    const key = formatAddress(target)
    if (
      there !== undefined &&
      this.#connections.has(there.id) &&
      options.peer !== undefined &&
      options.peer !== there.id
    ) {
      reject(new Error(`dial to ${key}: identity key mismatch`))
      return promise
    }
    if (there !== undefined && this.#connections.has(there.id)) {
      resolve(there.id)
      return promise
    }
    let done = false
    const finish = (err: Error | null, id?: string) => {
      if (done) return
      done = true
      if (err !== null) reject(err)
      else resolve(id as string)
    }
    options.signal?.addEventListener(
      'abort',
      () => finish(failure(`dial to ${key} aborted`, { name: 'AbortError' })),
      {
        once: true,
      },
    )
    const timer = this.#clock.setTimeout(
      () => finish(failure(`dial to ${key} timed out`, { name: 'TimeoutError' })),
      net.init.dialTimeout,
    )
    if (there === undefined) {
      // nothing listens: the kernel refuses after a round trip, unless the way is cut
      const host = target.host
      const rtt = 2 * net.delay(this.owner, this.owner)
      this.#clock.setTimeout(() => {
        this.#clock.clearTimeout(timer)
        finish(failure(`connect ECONNREFUSED ${host}:${target.port}`, { code: 'ECONNREFUSED' }))
      }, rtt)
      return promise
    }
    if (!net.reachable(this.owner, there.owner)) return promise // the timeout ends it
    // the handshake needs both processes: the other end answers when it runs
    const there1 = net.delay(this.owner, there.owner)
    net.scheduler.at(there.owner, there1, () => {
      if (there.#handlers === null || !net.reachable(this.owner, there.owner)) return
      const back = net.delay(there.owner, this.owner)
      net.scheduler.at(this.owner, back, () => {
        this.#clock.clearTimeout(timer)
        if (done || this.#handlers === null) return
        if (net.scheduler.isDead(there.owner) || there.#handlers === null) {
          finish(failure(`connect ECONNREFUSED ${key}`, { code: 'ECONNREFUSED' }))
          return
        }
        if (options.peer !== undefined && options.peer !== there.id) {
          finish(new Error(`dial to ${key}: identity key mismatch`))
          return
        }
        let c = this.#connections.get(there.id)
        if (c === undefined) {
          c = net.connect(this, there)
          this.#connections.set(there.id, c)
          this.#book.set(there.id, there.address)
          this.events.emit('connect', there.id)
          this.events.emit('subscribed', undefined)
          // the other end has it once our first bytes arrive: before anything sent on it
          net.send(c, this, { kind: 'open' })
        }
        finish(null, there.id)
      })
    })
    return promise
  }

  #accepted(c: Connection, from: MemoryTransport): void {
    const known = this.#connections.get(from.id)
    if (known === c) return
    if (known !== undefined) {
      // The same dialler again: it has no use for the old one (its close is on the way, or was
      // lost with a process). Two dials crossed: both ends keep the one the lower id dialled.
      const dialler = (c.ends[0] as MemoryTransport).id
      const before = (known.ends[0] as MemoryTransport).id
      const keepNew = dialler === before || dialler < before
      if (!keepNew) {
        this.#net.close(c, this)
        return
      }
      this.#connections.set(from.id, c)
      this.#net.close(known, this)
      return
    }
    this.#connections.set(from.id, c)
    this.#book.set(from.id, from.address)
    this.events.emit('connect', from.id)
    this.events.emit('subscribed', undefined)
  }

  /** Dials `peer` unless connected (giving up when `signal`, if any, ends): exchanges and links dial as libp2p's dialProtocol does. */
  async dialPeer(peer: string, signal?: AbortSignal): Promise<void> {
    if (this.#connections.has(peer)) return
    const address = this.#book.get(peer)
    if (address === undefined) throw new Error(`no address known for ${peer}`)
    await this.dial(address, signal === undefined ? { peer } : { peer, signal })
  }

  remember(peer: string, target: Seed): void {
    if (!this.#book.has(peer)) this.#book.set(peer, target)
  }

  async hangUp(peer: string): Promise<void> {
    const c = this.#connections.get(peer)
    if (c !== undefined) this.#net.close(c, this)
  }

  async ping(peer: string, signal: AbortSignal): Promise<void> {
    await this.dialPeer(peer)
    await this.#exchange(peer, (n) => ({ kind: 'ping', n }), signal)
  }

  subscribe(topic: string): void {
    this.#topics.add(topic)
  }

  async publish(topic: string, frame: Uint8Array): Promise<void> {
    const id = `${this.id}/${++this.#gossipN}`
    this.#remember(id)
    for (const c of this.#connections.values())
      this.#net.send(c, this, { kind: 'gossip', id, topic, data: frame })
  }

  request(peer: string, frame: Uint8Array, expectReply: false): Promise<null>
  request(peer: string, frame: Uint8Array, expectReply: true): Promise<DirectFrame>
  async request(peer: string, frame: Uint8Array, expectReply: boolean): Promise<DirectFrame | null> {
    const signal = this.#clock.timeout(this.#net.init.requestTimeout)
    await this.dialPeer(peer, signal)
    const bytes = await this.#exchange(
      peer,
      (n) => ({ kind: 'request', n, data: frame, reply: expectReply }),
      signal,
    )
    if (!expectReply) return null
    if (bytes === null) throw new Error(`no reply from ${peer}`)
    const decoded = decodeDirectFrame(bytes, this.#net.init.maxFrameBytes)
    if (!decoded.ok) throw new Error(`bad reply from ${peer}: ${decoded.reason}: ${decoded.detail}`)
    if (decoded.frame.from !== peer)
      throw new Error(`reply from ${peer} claims to be from ${decoded.frame.from}`)
    return decoded.frame
  }

  async deliver(peer: string, frame: Uint8Array, signal: AbortSignal): Promise<void> {
    await this.dialPeer(peer, signal)
    await this.#exchange(peer, (n) => ({ kind: 'request', n, data: frame, reply: false }), signal)
  }

  linkSend(path: LinkPath, peers: Iterable<string>, frame: Uint8Array): void {
    if (this.#handlers === null) return
    for (const peer of peers) {
      const c = this.#connections.get(peer)
      if (c !== undefined) {
        // a bus link that fails loses what was queued on it (BusLinks): the bus asks for it again
        if (path === 'bus' && this.#net.dropsBusFrame()) {
          this.linkDrops++
          continue
        }
        this.#net.send(c, this, { kind: 'link', path, data: frame })
        continue
      }
      // a link opens its stream by dialling the member, as libp2p's dialProtocol does
      let waiting = this.#waiting.get(peer)
      if (waiting !== undefined) {
        waiting.push({ path, data: frame })
        continue
      }
      waiting = [{ path, data: frame }]
      this.#waiting.set(peer, waiting)
      this.dialPeer(peer).then(
        () => {
          const queued = this.#waiting.get(peer) ?? []
          this.#waiting.delete(peer)
          const open = this.#connections.get(peer)
          for (const q of queued)
            if (open !== undefined) this.#net.send(open, this, { kind: 'link', path: q.path, data: q.data })
            else if (q.path === 'bus') this.linkDrops++
        },
        () => {
          const queued = this.#waiting.get(peer) ?? []
          this.#waiting.delete(peer)
          this.linkDrops += queued.filter((q) => q.path === 'bus').length
        },
      )
    }
  }

  linkClose(peer: string): void {
    this.#waiting.delete(peer)
  }

  leaving(): void {}

  /** A connection of this node closed (its end, or the other's close arrived). */
  closed(c: Connection): void {
    const peer = c.other(this).id
    if (this.#connections.get(peer) !== c) return
    this.#connections.delete(peer)
    for (const [n, p] of this.#pending) {
      if (p.peer !== peer) continue
      this.#pending.delete(n)
      p.reject(new Error(`connection to ${peer} closed`))
    }
    if (this.#handlers !== null) this.events.emit('disconnect', peer)
  }

  /** A message arrived on `c`. */
  received(c: Connection, m: Message): void {
    const handlers = this.#handlers
    if (handlers === null) return
    const from = c.other(this)
    switch (m.kind) {
      case 'gossip': {
        if (this.#seen.has(m.id)) return
        this.#remember(m.id)
        const now = this.#net.scheduler.now
        for (const [peer, other] of this.#connections)
          if (peer !== from.id && other.meshAt <= now) this.#net.send(other, this, m)
        if (this.#topics.has(m.topic)) this.events.emit('topic', { topic: m.topic, data: m.data })
        return
      }
      case 'link':
        handlers.link(m.path, from.id, m.data)
        return
      case 'ping':
        this.#net.send(c, this, { kind: 'pong', n: m.n })
        return
      case 'pong':
      case 'reply': {
        const p = this.#pending.get(m.n)
        if (p === undefined) return
        this.#pending.delete(m.n)
        if (m.kind === 'pong') p.resolve(null)
        else if (m.error !== undefined) p.reject(new Error(m.error))
        else p.resolve(m.data)
        return
      }
      case 'request':
        void this.#serve(c, from, m, handlers)
        return
      case 'open':
        this.#accepted(c, from)
        return
      case 'close':
        return
    }
  }

  async #serve(
    c: Connection,
    from: MemoryTransport,
    m: Extract<Message, { kind: 'request' }>,
    handlers: TransportHandlers,
  ): Promise<void> {
    const decoded = decodeDirectFrame(m.data, this.#net.init.maxFrameBytes)
    if (!decoded.ok) {
      handlers.dropped(decoded.reason, decoded.detail, { peer: from.id, path: 'direct' })
      this.#net.send(c, this, { kind: 'reply', n: m.n, data: null, error: 'bad frame' })
      return
    }
    if (decoded.frame.from !== from.id) {
      handlers.dropped('foreign', `frame claims to be from ${decoded.frame.from}`, {
        peer: from.id,
        path: 'direct',
      })
      this.#net.send(c, this, { kind: 'reply', n: m.n, data: null, error: 'foreign frame' })
      return
    }
    try {
      const reply = await handlers.direct(decoded.frame)
      this.#net.send(c, this, { kind: 'reply', n: m.n, data: m.reply ? reply : null })
    } catch (err) {
      this.#net.send(c, this, { kind: 'reply', n: m.n, data: null, error: (err as Error).message })
    }
  }

  /** Sends one message that expects an answer, and waits for it (or the signal, or the connection closing). */
  #exchange(peer: string, make: (n: number) => Message, signal: AbortSignal): Promise<Uint8Array | null> {
    const c = this.#connections.get(peer)
    if (c === undefined) return Promise.reject(new Error(`not connected to ${peer}`))
    const n = ++this.#n
    const { promise, resolve, reject } = Promise.withResolvers<Uint8Array | null>()
    const pending: Pending = { resolve, reject, peer }
    this.#pending.set(n, pending)
    if (signal.aborted) {
      this.#pending.delete(n)
      reject(new Error('aborted'))
      return promise
    }
    signal.addEventListener(
      'abort',
      () => {
        if (this.#pending.delete(n)) reject(new Error(`exchange with ${peer} timed out`))
      },
      { once: true },
    )
    this.#net.send(c, this, make(n))
    return promise
  }

  #remember(id: string): void {
    if (this.#seen.size >= SEEN_CAP) this.#seen.clear()
    this.#seen.add(id)
  }
}

/** A dial failure as the real transport gives it: a message, and the `code` or `name` the connector sorts by. */
function failure(message: string, marks: { code?: string; name?: string }): Error {
  const err = new Error(message)
  if (marks.name !== undefined) err.name = marks.name
  return Object.assign(err, marks.code === undefined ? {} : { code: marks.code })
}
