import {
  type BusTarget,
  formatAddress,
  type InvokeHandlers,
  type InvokeReply,
  type Logger,
  type Member,
  type MemberLoad,
  type MeshCounters,
  SafeEmitter,
  type Startable,
  type View,
  type ViewChange,
} from '@meshcast/interface'
import { Alarm } from './alarm.ts'
import { Bus, type InvokeOptions, type MessageHandler, type SendOptions } from './bus/bus.ts'
import type { SeqRange } from './bus/receive-window.ts'
import { BusReceiver } from './bus/receiver.ts'
import { BusSender } from './bus/sender.ts'
import { toWire } from './bus/targets.ts'
import { type Clock, clockTimeout, systemClock, type TimerHandle } from './clock.ts'
import { clusterKey, clusterNames } from './cluster-key.ts'
import { DropLog } from './drop-log.ts'
import { BusArgumentError, MeshNotRunningError } from './errors.ts'
import { gossipNeeded } from './membership/gossip-policy.ts'
import { MemberTable, type SuspectReason } from './membership/member-table.ts'
import { ViewKeeper } from './membership/view-keeper.ts'
import { type MeshInit, type MeshSettings, settings } from './options.ts'
import { type StateHandlers, StateRegistry } from './state-registry.ts'
import { Connector } from './transport/connector.ts'
import { newIdentity } from './transport/identity.ts'
import { Libp2pTransport } from './transport/libp2p-transport.ts'
import { LostMembers } from './transport/lost-members.ts'
import type { LookupAll } from './transport/names.ts'
import type { LinkPath, MeshTransport } from './transport/transport.ts'
import { NAME } from './wire/checks.ts'
import { decodeTopicFrame, encodeFrame, encodeRetransmitFrame } from './wire/codec.ts'
import type { BusFrame, DirectFrame, HeartbeatFrame, StateFrame, TopicFrame } from './wire/frames.ts'

export type MeshState = 'idle' | 'joining' | 'joined' | 'leaving' | 'stopped'

export interface MeshEvents {
  /** a new view; the first one after `start` means this node has joined */
  view: ViewChange
  /** messages from `from` that can no longer be delivered (they were sent while we were cut off) */
  gap: { from: string; lost: SeqRange }
  suspect: { id: string; reason: SuspectReason }
  /** a member's `data` or `load` changed (or it was first heard): what rides its heartbeats */
  member: Member
}

export interface MeshComponents {
  logger: Logger
  /** resolves seeds' DNS names (default: the system resolver, every A and AAAA record) */
  lookup?: LookupAll
  /** the network (default: libp2p, with `init.identity` or a fresh one); the simulator's is in memory */
  transport?: MeshTransport
  /** time and timers (default: the system's); the simulator's is virtual */
  clock?: Clock
  /** in [0, 1): jitter (default Math.random); the simulator's is seeded */
  random?: () => number
}

/** A member as `/api/members` shows it. */
export interface MemberInfo extends Member {
  coordinator: boolean
  self: boolean
  /** ms since the epoch when this node first heard of it */
  joinedAt: number
  /** ms since the epoch of its last heartbeat (now, for this node) */
  lastHeard: number
  suspect: SuspectReason | null
  connected: boolean
}

/** ms a leaving node waits for members to confirm its leave notice: a member that does not is dead or cut off. */
const GOODBYE_WAIT_MS = 500

/** Largest frame on any path: a full batch plus its envelope. */
function frameLimit(s: MeshSettings): number {
  return Math.max(s.maxBatchBytes, s.maxMessageBytes) + 64 * 1024
}

/**
 * A node's place in the cluster: membership views with failure detection,
 * and the bus with per-sender FIFO, no loss and no duplicates while sender
 * and receiver are both up. Built on libp2p; knows nothing of streams.
 */
export class Mesh implements Startable {
  readonly id: string
  readonly events: SafeEmitter<MeshEvents>
  readonly #s: MeshSettings
  /** largest frame on any path */
  readonly #maxFrame: number
  readonly #log: Logger
  readonly #clock: Clock
  readonly #random: () => number
  readonly #transport: MeshTransport
  /** whether the transport runs: nothing is sent before or after */
  #up = false
  readonly #names: ReturnType<typeof clusterNames>
  readonly #drops: DropLog
  readonly #state: StateRegistry
  readonly #startedAt: number
  readonly #sender: BusSender
  readonly #receiver: BusReceiver
  readonly #bus: Bus
  readonly #table: MemberTable
  readonly #keeper: ViewKeeper
  /** per member: the last heartbeat's bus fields, replayed once state transfer settles */
  readonly #lastBusInfo = new Map<string, { seq: number; joinedAt: number | undefined }>()
  readonly #counters = { viewChanges: 0, suspicions: 0, retransmitted: 0, retransmitRequests: 0, gapsLost: 0 }
  #connector: Connector | null = null
  /** the last addresses of members lost without a goodbye, dialled until they answer (healing) */
  #lostMembers: LostMembers | null = null
  readonly #lookup: LookupAll | undefined
  #timers: TimerHandle[] = []
  #soonTimer: TimerHandle | null = null
  /** reconciles when the admissions the view keeper holds back are due */
  #admitTimer: TimerHandle | null = null
  /**
   * Whether the view has held for `meshSettle`, so members connect to the
   * members they have no connection to yet (see #viewChanged).
   */
  #meshOpen = false
  #settleTimer: TimerHandle | null = null
  #hbNumber = 0
  /** heartbeats sent to every peer (not the ones to a peer that just connected) */
  #rounds = 0
  #ticks = 0
  /** per member: its last data and load, as JSON, to tell news from repetition */
  readonly #said = new Map<string, string>()
  #lastTick: number
  #load: MemberLoad = { subscribers: 0, streams: 0 }
  #data: Record<string, unknown> = {}
  #phase: MeshState = 'idle'
  /** bus windows open only once the state this node starts from is known */
  #settled = false
  #stateTransfer: Promise<void> | null = null
  /** the join loop and the leave drain sleep on it; a view change wakes them */
  readonly #alarm: Alarm

  constructor(init: MeshInit, components: MeshComponents) {
    this.#s = settings(init)
    this.#maxFrame = frameLimit(this.#s)
    this.#log = components.logger.child({ component: 'mesh' })
    this.#clock = components.clock ?? systemClock
    this.#random = components.random ?? Math.random
    this.#alarm = new Alarm(this.#clock)
    this.#lookup = components.lookup
    this.events = new SafeEmitter((err, event) =>
      this.#log.error('mesh event listener threw', { event: String(event), error: (err as Error).message }),
    )
    const key = clusterKey(this.#s.password)
    this.#names = clusterNames(key.tag)
    this.#transport =
      components.transport ??
      new Libp2pTransport(
        {
          identity: init.identity ?? newIdentity(),
          host: this.#s.host,
          port: this.#s.port,
          psk: key.psk,
          names: this.#names,
          mdns: this.#s.mdns,
          mdnsInterval: this.#s.mdnsInterval,
          dialTimeout: this.#s.dialTimeout,
          requestTimeout: this.#s.requestTimeout,
          maxFrameBytes: this.#maxFrame,
          maxStateBytes: this.#s.maxStateBytes,
          inboundLimits: this.#s.inboundLimits,
        },
        this.#log,
      )
    this.id = this.#transport.id
    this.#drops = new DropLog(this.#log, this.#clock)
    this.#state = new StateRegistry(this.#log)
    const now = this.#clock.now()
    this.#startedAt = now
    this.#lastTick = now
    this.#table = new MemberTable(
      this.#selfRecord(),
      {
        suspectAfter: this.#s.suspectAfter,
        closedGrace: this.#s.closedGrace,
        silentGrace: this.#s.silentGrace,
        youngFor: this.#s.youngFor,
      },
      now,
    )
    this.#keeper = new ViewKeeper(this.#selfRecord(), { bundling: this.#s.viewBundling })
    this.#sender = new BusSender(
      { maxInFlight: this.#s.maxInFlight, maxBatchBytes: this.#s.maxBatchBytes },
      {
        selfId: this.id,
        logger: this.#log,
        publish: (frame) => this.#publishBus(frame),
        soon: (fn) => this.#clock.soon(fn),
      },
    )
    this.#receiver = new BusReceiver(
      {
        ackEvery: Math.max(1, Math.floor(this.#s.maxInFlight / 4)),
        maxNak: 5000,
        tailAfter: 2 * this.#s.nakInterval,
      },
      {
        deliver: (from, envelope) => this.#bus.deliver(from, envelope),
        lost: (from, range) => this.#lost(from, range),
        ack: (from, seq) => this.#sendDirect(from, { v: 1, k: 'ack', from: this.id, seq }),
        now: () => this.#clock.now(),
      },
    )
    this.#bus = new Bus({
      selfId: this.id,
      role: this.#s.self.role,
      logger: this.#log.child({ component: 'mesh:bus' }),
      sender: this.#sender,
      drops: this.#drops,
      members: () => this.#keeper.view.members,
      maxMessageBytes: this.#s.maxMessageBytes,
      maxQueuedBytes: this.#s.maxQueuedBytes,
      invokeTimeout: this.#s.invokeTimeout,
      clock: this.#clock,
    })
  }

  // ---- public API -------------------------------------------------------

  get state(): MeshState {
    return this.#phase
  }

  get view(): View {
    return this.#keeper.view
  }

  get isCoordinator(): boolean {
    return this.#keeper.isCoordinator
  }

  /** The mesh's listen address as `host:port`. */
  get address(): string {
    return formatAddress({ host: this.#s.host, port: this.#s.port })
  }

  /** Sends `data` on `channel` to `target`; resolves once it is on the wire. */
  send(target: BusTarget, channel: string, data: unknown, opts?: SendOptions): Promise<void> {
    this.#mustRun('send')
    return this.#bus.send(toWire(target), channel, data, opts)
  }

  /** Calls `handler.method` on every member `target` names; one reply (or error) per member. */
  invoke(target: BusTarget, method: string, args?: unknown, opts?: InvokeOptions): Promise<InvokeReply[]> {
    this.#mustRun('invoke')
    return this.#bus.invoke(toWire(target), method, args, opts)
  }

  onMessage(channel: string, handler: MessageHandler): () => void {
    return this.#bus.onMessage(channel, handler)
  }

  register(name: string, handlers: InvokeHandlers): () => void {
    return this.#bus.register(name, handlers)
  }

  /** State transfer for one application: register before `start` to take part in the join. */
  registerState(name: string, handlers: StateHandlers): () => void {
    return this.#state.register(name, handlers)
  }

  /**
   * Pulls one state from one member: what its `provide` for `name` returns
   * now (undefined when it has no such state). After a merge, an
   * application pulls from the members of the other side (`change.others`)
   * what they did while apart. Rejects when the member cannot be reached
   * within `requestTimeout`.
   */
  async fetchState(from: string, name: string): Promise<unknown> {
    this.#mustRun('fetchState')
    if (!NAME.test(name)) throw new BusArgumentError(`bad state name ${JSON.stringify(name)}`)
    if (from === this.id) return this.#state.collect([name])[name]
    const reply = await this.#transport.request(
      from,
      encodeFrame({ v: 1, k: 'state?', from: this.id, names: [name] }),
      true,
    )
    if (reply.k !== 'state') throw new Error(`expected a state frame from ${from}, got "${reply.k}"`)
    return reply.state[name]
  }

  /** Attaches a small value to this node's heartbeats (other members see it in `member.data`). */
  setData(key: string, value: unknown): void {
    if (value === undefined) delete this.#data[key]
    else this.#data[key] = value
    this.#table.updateSelf(this.#selfRecord())
    // others should not wait a whole interval for what may be news (a stream advert)
    if (this.#phase === 'joined' || this.#phase === 'joining') this.#heartbeatSoon()
  }

  setLoad(load: MemberLoad): void {
    this.#load = { ...load }
    this.#table.updateSelf(this.#selfRecord())
  }

  /**
   * The IP address this node's connection to member `id` comes from, or
   * null: where to reach a member that announced a wildcard address.
   */
  peerHost(id: string): string | null {
    return this.#up ? this.#transport.peerHost(id) : null
  }

  /** Current members of the view, with what this node knows of each. */
  members(): MemberInfo[] {
    const view = this.#keeper.view
    return view.members.map((m) => {
      const entry = this.#table.get(m.id)
      const self = m.id === this.id
      return {
        ...(entry?.member ?? m),
        coordinator: m.id === view.coordinator,
        self,
        joinedAt: entry?.firstHeard ?? 0,
        lastHeard: self ? this.#clock.now() : (entry?.lastHeard ?? 0),
        suspect: entry?.suspect?.reason ?? null,
        connected: self || (this.#connector?.isConnected(m.id) ?? false),
      }
    })
  }

  counters(): MeshCounters {
    return {
      ...this.#counters,
      busSent: this.#sender.sentMessages,
      busDelivered: this.#bus.delivered,
      linkDrops: this.#transport.linkDrops,
      dropped: { ...this.#drops.counts, ...this.#receiver.discarded },
    }
  }

  status() {
    const view = this.#keeper.view
    return {
      state: this.#phase,
      id: this.id,
      address: this.address,
      viewId: view.id,
      coordinator: view.coordinator,
      members: view.members.length,
      connections: this.#up ? this.#transport.connectedPeers().length : 0,
      mdns: this.#s.mdns,
      counters: this.counters(),
    }
  }

  // ---- lifecycle --------------------------------------------------------

  async start(): Promise<void> {
    if (this.#phase !== 'idle') return
    this.#phase = 'joining'
    try {
      await this.#startTransport()
    } catch (err) {
      await this.#stopTransport()
      this.#phase = 'stopped'
      throw err
    }
    this.#timers.push(this.#clock.setInterval(() => this.#heartbeat(), this.#s.heartbeatInterval))
    this.#timers.push(this.#clock.setInterval(() => this.#tick(), this.#s.nakInterval))
    this.#heartbeat()
    await this.#join()
  }

  /** Leaves cleanly: delivers what is queued, tells the others, then closes. */
  async stop(): Promise<void> {
    if (this.#phase === 'stopped' || this.#phase === 'leaving') return
    if (this.#phase === 'idle') {
      this.#phase = 'stopped'
      return
    }
    this.#phase = 'leaving'
    this.#alarm.wake()
    this.#transport.leaving()
    await this.#drain()
    await this.#sayGoodbye()
    for (const t of this.#timers) this.#clock.clearInterval(t)
    this.#timers = []
    if (this.#soonTimer !== null) this.#clock.clearTimeout(this.#soonTimer)
    if (this.#admitTimer !== null) this.#clock.clearTimeout(this.#admitTimer)
    if (this.#settleTimer !== null) this.#clock.clearTimeout(this.#settleTimer)
    this.#sender.stop()
    this.#bus.stop()
    await this.#stopTransport()
    this.#phase = 'stopped'
    this.#log.info('left the cluster')
  }

  // ---- transport --------------------------------------------------------

  async #startTransport(): Promise<void> {
    const s = this.#s
    const transport = this.#transport
    transport.events.on('topic', ({ topic, data }) => this.#onTopic(topic, data))
    // A joiner's first beats must reach a coordinator it is not connected to: gossip can carry them once a peer subscribes.
    transport.events.on('subscribed', () => {
      if (this.#phase === 'joining') this.#heartbeatSoon()
    })
    transport.events.on('connect', (peer) => this.#onConnect(peer))
    transport.events.on('disconnect', (peer) => this.#onDisconnect(peer))
    await transport.start({
      direct: (frame) => this.#onDirect(frame),
      link: (path, peer, bytes) => this.#onLinkFrame(path, peer, bytes),
      dropped: (reason, detail, fields) => this.#drops.drop(reason, detail, fields),
    })
    this.#up = true
    transport.subscribe(this.#names.heartbeatTopic)
    this.#connector = new Connector(
      {
        selfId: this.id,
        self: { host: s.host, port: s.port },
        seeds: s.seeds,
        retryInterval: s.retryInterval,
        healWindow: s.healWindow,
      },
      {
        transport,
        logger: this.#log,
        clock: this.#clock,
        ...(this.#lookup === undefined ? {} : { lookup: this.#lookup }),
      },
    )
    this.#lostMembers = new LostMembers(
      { windowMs: s.healWindow },
      {
        dial: (target) => transport.dial(target, { signal: clockTimeout(this.#clock, s.dialTimeout) }),
        isConnected: (peer) => transport.isConnected(peer),
        logger: this.#log,
        now: () => this.#clock.now(),
        setTimer: (fn, ms) => this.#clock.setTimeout(fn, ms),
        clearTimer: (timer) => this.#clock.clearTimeout(timer),
        random: this.#random,
      },
    )
    this.#connector.start()
    this.#log.info('mesh listening', {
      address: this.address,
      id: this.id,
      mdns: s.mdns,
      seeds: s.seeds.map(formatAddress),
    })
  }

  async #stopTransport(): Promise<void> {
    this.#connector?.stop()
    this.#lostMembers?.stop()
    this.#up = false
    await this.#transport.stop()
  }

  async #publish(topic: string, frame: Uint8Array): Promise<void> {
    if (this.#up) await this.#transport.publish(topic, frame)
  }

  /** A bus batch goes straight to every member the sender counts (see BusLinks for why not gossip). */
  async #publishBus(frame: Uint8Array): Promise<void> {
    if (this.#up) this.#transport.linkSend('bus', this.#sender.memberIds(), frame)
  }

  #sendDirect(peer: string, frame: DirectFrame): void {
    if (!this.#up) return
    this.#transport
      .request(peer, encodeFrame(frame), false)
      .catch((err: Error) =>
        this.#log.debug('direct send failed', { peer, kind: frame.k, error: err.message }),
      )
  }

  // ---- joining ------------------------------------------------------------

  /**
   * Waits to hear of an existing cluster (up to joinTimeout). When another
   * node leads, fetches the applications' state from it before telling
   * anyone this node has joined; otherwise this node leads its own view.
   */
  async #join(): Promise<void> {
    // With seeds, listen for joinTimeout after the first dial to them settles: under load
    // (20 nodes starting on 2 cores) that dial alone took over joinTimeout, and each node
    // that led its own cluster meanwhile had to be merged later (measured: seconds).
    const connector = this.#connector
    if (connector !== null && this.#s.seeds.length > 0) {
      await Promise.race([connector.firstRound, this.#alarm.sleep(this.#s.dialTimeout + this.#s.joinTimeout)])
      // the losing sleep's timer would hold the process up to 6 s after a stop (SIGTERM soon after start)
      this.#alarm.wake()
    }
    const deadline = this.#clock.now() + this.#s.joinTimeout
    while (this.#phase === 'joining') {
      const view = this.#keeper.view
      if (view.coordinator !== this.id) {
        if (await this.#fetchState(view.coordinator)) break
        continue
      }
      const others = this.#table.size > 1
      if (this.#clock.now() >= deadline || (others && this.#table.ordered()[0]?.id === this.id)) break
      await this.#alarm.sleep(Math.min(50, Math.max(1, deadline - this.#clock.now())))
    }
    if (this.#phase !== 'joining') return
    this.#settle({})
    this.#phase = 'joined'
    const view = this.#keeper.view
    this.#log.info('joined the cluster', {
      view: view.id,
      members: view.members.length,
      coordinator: view.coordinator,
    })
    this.events.emit('view', { view, joined: view.members, left: [], merged: false, others: [] })
  }

  /** Asks `coordinator` for the state; false when it failed (the caller tries again). */
  async #fetchState(coordinator: string): Promise<boolean> {
    if (!this.#up) return false
    try {
      const reply = await this.#transport.request(
        coordinator,
        encodeFrame({ v: 1, k: 'state?', from: this.id }),
        true,
      )
      if (reply.k !== 'state') throw new Error(`expected a state frame, got "${reply.k}"`)
      this.#settle(reply.digest, reply)
      this.#log.info('received state', { from: coordinator, names: Object.keys(reply.state) })
      return true
    } catch (err) {
      this.#log.warn('state transfer failed; trying again', {
        from: coordinator,
        error: (err as Error).message,
      })
      await this.#alarm.sleep(200)
      return false
    }
  }

  /** Opens the bus windows where the state leaves off, then hands the state to the applications. */
  #settle(digest: Record<string, number>, frame?: StateFrame): void {
    if (this.#settled) return
    for (const [sender, seq] of Object.entries(digest))
      if (sender !== this.id) this.#receiver.open(sender, seq + 1)
    if (frame !== undefined) this.#state.apply(frame.state)
    this.#settled = true
    for (const [sender, info] of this.#lastBusInfo) this.#receiver.heartbeat(sender, info.seq, info.joinedAt)
  }

  /** A node that was alone and is now led by another: it joins that cluster, state and all. */
  #rejoin(): void {
    if (this.#stateTransfer !== null) return
    this.#settled = false
    this.#stateTransfer = (async () => {
      while (this.#phase === 'joined' && !this.#settled) {
        const current = this.#keeper.view.coordinator
        if (current === this.id) {
          this.#settle({})
          break
        }
        await this.#fetchState(current)
      }
    })().finally(() => {
      this.#stateTransfer = null
    })
  }

  // ---- membership ---------------------------------------------------------

  #selfRecord(): Member {
    return {
      id: this.id,
      role: this.#s.self.role,
      publicIp: this.#s.self.publicIp,
      publicPort: this.#s.self.publicPort,
      http: this.#s.self.http,
      mesh: formatAddress({ host: this.#s.announceHost, port: this.#s.port }),
      privateInstance: this.#s.self.privateInstance,
      startedAt: this.#startedAt,
      load: this.#load,
      data: this.#data,
    }
  }

  /**
   * The periodic heartbeat (and the one a view change or new data asks for):
   * straight to every connected peer, and on gossip only where those links
   * may not reach (see gossipNeeded).
   */
  #heartbeat(): void {
    const connected = this.#connectedPeers()
    const gossip = gossipNeeded({
      selfId: this.id,
      joining: this.#phase === 'joining',
      coordinator: this.#keeper.isCoordinator,
      connected: new Set(connected),
      heard: this.#table.entries().map((e) => e.member.id),
      view: this.#keeper.view.members.map((m) => m.id),
      announcers: this.#keeper.announcers(),
      round: ++this.#rounds,
    })
    this.#beat(connected, gossip)
  }

  /** Sends one heartbeat to `peers` on their heartbeat links, and on gossip when `gossip`. */
  #beat(peers: readonly string[], gossip: boolean): void {
    if (!this.#up || this.#phase === 'stopped') return
    const frame: HeartbeatFrame = {
      v: 1,
      k: 'hb',
      n: ++this.#hbNumber,
      member: this.#selfRecord(),
      seq: this.#sender.highest,
      acks: this.#receiver.digest(),
      joined: this.#sender.joinedMap(),
    }
    const view = this.#keeper.wire()
    if (view !== undefined) frame.view = view
    if (this.#phase === 'joined') frame.side = this.#keeper.view.id
    const bytes = encodeFrame(frame)
    this.#transport.linkSend('heartbeat', peers, bytes)
    // Gossip reaches peers not connected to this node; direct links cover the rest.
    if (gossip) {
      this.#publish(this.#names.heartbeatTopic, bytes).catch((err: Error) =>
        this.#log.debug('heartbeat publish failed', { error: err.message }),
      )
    }
  }

  /** Peers with a connection to this node: on the private network, all of this cluster. */
  #connectedPeers(): string[] {
    return this.#up ? this.#transport.connectedPeers() : []
  }

  /** An extra heartbeat shortly (a view changed, a peer subscribed), at most one pending. */
  #heartbeatSoon(): void {
    if (this.#soonTimer !== null) return
    this.#soonTimer = this.#clock.setTimeout(() => {
      this.#soonTimer = null
      this.#heartbeat()
    }, 20)
  }

  #onHeartbeat(frame: HeartbeatFrame): void {
    const m = frame.member
    const heard = this.#table.heard(m, frame.n, this.#clock.now())
    if (heard === 'replay' || heard === 'stale' || heard === 'left') {
      if (m.id === this.id || heard === 'left') return
      // Normal, not bad input: a beat comes by its link and now and then by gossip too,
      // and gossip can bring an older one after a newer one. Counted, not logged.
      this.#drops.count(heard === 'stale' ? 'staleHeartbeat' : 'repeatedHeartbeat')
      return
    }
    const said = JSON.stringify([m.data, m.load])
    if (this.#said.get(m.id) !== said) {
      this.#said.set(m.id, said)
      this.events.emit('member', m)
    }
    if (heard === 'new') {
      // Nothing to send: it heard this node's beat when they connected, and joiners take the
      // members they have not heard from the coordinator's view. Answering every new member
      // with a beat to all (and on gossip) made forming 20 nodes cost O(N³) messages (measured).
      this.#log.info('member heard', { peer: m.id, role: m.role, mesh: m.mesh })
      this.#lostMembers?.heard(m.mesh)
      this.#sender.addMember(m.id)
      this.#connector?.learn(m.id, m.mesh)
    }
    // This node's coordinator (the oldest member heard, announcing a view) is connected to at
    // once; the rest once the view holds. Every joiner announces its one-member view: dialling
    // each of those at once built the whole mesh in the middle of a start-up (measured).
    if (frame.view !== undefined && this.#table.ordered()[0]?.id === m.id)
      this.#connector?.ensure(m.id, m.mesh, true)
    else if (this.#meshOpen) this.#connector?.ensure(m.id, m.mesh, false)
    const ack = frame.acks[this.id]
    if (ack !== undefined) this.#sender.ack(m.id, ack)
    const info = { seq: frame.seq, joinedAt: frame.joined[this.id] }
    this.#lastBusInfo.set(m.id, info)
    if (this.#settled) this.#receiver.heartbeat(m.id, info.seq, info.joinedAt)
    this.#keeper.noteSide(m.id, frame.side)
    if (heard === 'new') this.#reconcile()
    if (frame.view === undefined)
      this.#keeper.forget(m.id) // no longer a coordinator
    else {
      const change = this.#keeper.adopt(
        m.id,
        frame.view,
        this.#table.ordered(),
        (id) => this.#table.get(id)?.member,
      )
      if (change !== null) this.#viewChanged(change)
    }
  }

  #reconcile(): void {
    const change = this.#keeper.reconcile(
      this.#table.ordered(),
      (id) => this.#table.get(id)?.member,
      this.#clock.now(),
    )
    if (change !== null) this.#viewChanged(change)
    const due = this.#keeper.admitAt
    if (due !== null && this.#admitTimer === null && this.#phase !== 'stopped')
      this.#admitTimer = this.#clock.setTimeout(
        () => {
          this.#admitTimer = null
          this.#reconcile()
        },
        Math.max(0, due - this.#clock.now()),
      )
  }

  #viewChanged(change: ViewChange): void {
    this.#counters.viewChanges++
    const { view, joined, left, merged, others } = change
    // A view can name members this node has not heard yet (the coordinator described them):
    // what this node sends from now on is theirs too, so count them now, and learn their address.
    // Every member, not only the joined ones: a member this node removed while its old view
    // still named it (cut off from its coordinator) is in the new view without joining it, and
    // what this node sent in that view before hearing the member again never reached it (found
    // by the simulator, seed 149).
    for (const m of view.members) {
      if (m.id === this.id) continue
      this.#sender.addMember(m.id)
      this.#connector?.learn(m.id, m.mesh)
    }
    this.#settleMesh(left.length > 0)
    for (const m of left) if (!this.#table.has(m.id)) this.#sender.removeMember(m.id)
    if (left.length > 0) this.#bus.membersLeft(left.map((m) => m.id))
    // a member gone without a goodbye may be alive behind a fault: its address is looked at until it answers
    for (const m of left)
      if (m.id !== this.id && !this.#table.hasLeft(m.id)) this.#lostMembers?.lost(m.id, m.mesh)
    if (this.#keeper.isCoordinator) this.#heartbeatSoon()
    this.#alarm.wake()
    if (this.#phase !== 'joined') return // the first view event is the join itself
    this.#log.info('new view', {
      view: view.id,
      members: view.members.length,
      coordinator: view.coordinator,
      joined: joined.map((m) => m.id),
      left: left.map((m) => m.id),
      merged,
      ...(merged ? { others: others.map((m) => m.id) } : {}),
    })
    const wasAlone = joined.length === view.members.length - 1 && left.length === 0
    if (wasAlone && view.coordinator !== this.id && joined.some((m) => m.id === view.coordinator))
      this.#rejoin()
    // a replica may have come or gone behind a seed's DNS name
    void this.#connector?.refresh()
    this.events.emit('view', change)
  }

  /**
   * Members connect to each other (the full mesh) once a view has held for
   * `meshSettle`; a removal connects them at once, as links may be missing
   * now. Each joiner connects to its seeds and the coordinator, which is
   * all a join needs. When 20 nodes start at once, each view used to
   * set every member dialling the newcomers while later ones still waited
   * for the coordinator: 170 handshakes on the same CPUs as the
   * admissions. Deferring them took one view of 20 from 4.5 s to 1.7 s
   * after the last node was up (measured). The bus needs no full mesh
   * meanwhile: a bus link dials the member it sends to.
   */
  #settleMesh(now: boolean): void {
    if (this.#settleTimer !== null) this.#clock.clearTimeout(this.#settleTimer)
    this.#settleTimer = null
    if (now) {
      this.#openMesh()
      return
    }
    this.#meshOpen = false
    this.#settleTimer = this.#clock.setTimeout(() => {
      this.#settleTimer = null
      this.#openMesh()
    }, this.#s.meshSettle)
  }

  #openMesh(): void {
    if (this.#phase === 'stopped' || this.#phase === 'leaving') return
    this.#meshOpen = true
    const view = this.#keeper.view
    // The coordinator first, whatever the ids: after a coordinator is lost, its successor's
    // views reach only the members connected to it.
    for (const m of view.members)
      if (m.id !== this.id) this.#connector?.ensure(m.id, m.mesh, m.id === view.coordinator)
  }

  #removed(id: string, why: string): void {
    this.#said.delete(id)
    // What this node sends in a view is for every member of that view: a member it stopped
    // hearing stays counted (its messages held for retransmission) until a view drops it. Dropped
    // at once, it missed what this node sent meanwhile though it stayed in the view and got
    // through again (found by the simulator, seed 2161).
    if (!this.#keeper.view.members.some((m) => m.id === id)) this.#sender.removeMember(id)
    this.#transport.linkClose(id)
    this.#lastBusInfo.delete(id)
    this.#keeper.forget(id)
    this.#keeper.noteSide(id, undefined)
    this.#connector?.forget(id)
    // A partition leaves TCP connections open with nothing getting through, and their
    // retransmissions back off: after a 15 s cut, the old connection carried nothing until
    // 10-13 s after the heal (measured), while discovery kept finding the member "connected".
    // Closing it lets mDNS, a seed or a heartbeat heard by gossip bring a fresh one.
    this.#transport
      .hangUp(id)
      .catch((err: Error) => this.#log.debug('hang-up failed', { peer: id, error: err.message }))
    this.#log.info('member removed', { peer: id, why })
    this.#reconcile()
  }

  #onLeave(id: string): void {
    if (!this.#table.leave(id)) return
    this.#receiver.close(id)
    this.#removed(id, 'left')
  }

  #onConnect(id: string): void {
    if (this.#table.alive(id, this.#clock.now()))
      this.#log.info('suspicion cleared: connection re-established', { peer: id })
    // Only the new peer needs this node's beat now; the others heard it half a second ago.
    this.#beat([id], false)
  }

  #onDisconnect(id: string): void {
    if (this.#phase === 'leaving' || this.#phase === 'stopped') return
    if (!this.#table.closed(id, this.#clock.now())) return
    this.#suspected(id, 'closed')
    // A broken link to a live node comes back at once; a dead node refuses the dial.
    void this.#connector?.redial(id)
  }

  #suspected(id: string, reason: SuspectReason): void {
    this.#counters.suspicions++
    this.#log.info('member suspected', { peer: id, reason })
    this.events.emit('suspect', { id, reason })
  }

  /**
   * Whether this node judges `id`'s silence. A member of the view this node
   * has no connection to yet (the full mesh waits for the view to hold) is
   * the coordinator's to judge: the coordinator is connected to every
   * member, and its next view drops the dead. Everyone else is watched:
   * the coordinator, the member next in line for it, any member outside the
   * view, every member once the coordinator is gone here, and every member
   * when this node coordinates.
   */
  #watched(id: string, nextInLine: string | undefined): boolean {
    const view = this.#keeper.view
    if (this.#keeper.isCoordinator || id === view.coordinator) return true
    // The member this node takes for its next coordinator (the oldest it holds alive), and every
    // member once the view's coordinator is gone here: nobody else judges them for this node. A
    // member cut off with a coordinator that died kept the dead one's view for good, waiting for
    // an unconnected older member (on the other side of a partition) to announce a view.
    if (id === nextInLine || !this.#table.has(view.coordinator)) return true
    if (!view.members.some((m) => m.id === id)) return true
    return this.#connector?.isConnected(id) ?? true
  }

  /** Asks a silent member directly whether it is alive (JGroups' VERIFY_SUSPECT). */
  #probe(id: string): void {
    if (!this.#up) return
    this.#transport
      .ping(id, clockTimeout(this.#clock, this.#s.silentGrace))
      .then(() => {
        if (this.#table.alive(id, this.#clock.now()))
          this.#log.info('suspicion cleared: member answered a probe', { peer: id })
      })
      .catch(() => {})
  }

  #tick(): void {
    const now = this.#clock.now()
    const late = now - this.#lastTick - this.#s.nakInterval
    this.#lastTick = now
    // This node was starved (CPU, GC, SIGSTOP): others' heartbeats may be
    // waiting unread in its sockets. Judge silence after reading them.
    if (late > this.#s.heartbeatInterval) this.#clock.soon(() => this.#checkMembers())
    else this.#checkMembers()
    if (this.#settled) this.#requestRetransmissions()
    // Light traffic never reaches ackEvery: ack what is delivered every other tick.
    if (++this.#ticks % 2 === 0) this.#receiver.flushAcks()
  }

  #checkMembers(): void {
    if (this.#phase === 'stopped') return
    // sorted once a tick, not once a member
    const nextInLine = this.#table.ordered()[0]?.id
    const { suspected, removed } = this.#table.tick(this.#clock.now(), (id) => this.#watched(id, nextInLine))
    for (const entry of suspected) {
      this.#suspected(entry.member.id, 'silent')
      this.#probe(entry.member.id)
    }
    for (const entry of removed) {
      this.#removed(entry.member.id, `suspected (${entry.suspect?.reason}) and not cleared`)
      this.#lostMembers?.lost(entry.member.id, entry.member.mesh)
    }
    this.#reconcile()
  }

  // ---- bus plumbing -------------------------------------------------------

  #onTopic(topic: string, data: Uint8Array): void {
    const decoded = decodeTopicFrame(data, this.#maxFrame)
    if (!decoded.ok) {
      this.#drops.drop(decoded.reason, decoded.detail, { path: 'gossip', topic })
      return
    }
    const frame: TopicFrame = decoded.frame
    if (topic !== this.#names.heartbeatTopic || frame.k === 'bus') {
      this.#drops.drop('invalid', `a "${frame.k}" frame on gossip topic ${topic}`, { path: 'gossip', topic })
      return
    }
    if (frame.k === 'hb') this.#onHeartbeat(frame)
    else this.#onLeave(frame.from)
  }

  #onBeatFrame(peer: string, bytes: Uint8Array): void {
    const decoded = decodeTopicFrame(bytes, this.#maxFrame)
    if (!decoded.ok) {
      this.#drops.drop(decoded.reason, decoded.detail, { peer, path: 'heartbeat link' })
      return
    }
    const frame = decoded.frame
    const from = frame.k === 'hb' ? frame.member.id : frame.from
    if (frame.k === 'bus' || from !== peer) {
      this.#drops.drop(
        frame.k === 'bus' ? 'invalid' : 'foreign',
        frame.k === 'bus'
          ? 'a bus frame on a heartbeat link'
          : `a "${frame.k}" frame claiming to be from ${from}`,
        { peer, path: 'heartbeat link' },
      )
      return
    }
    if (frame.k === 'hb') this.#onHeartbeat(frame)
    else this.#onLeave(frame.from)
  }

  #onLinkFrame(path: LinkPath, peer: string, bytes: Uint8Array): void {
    if (path === 'heartbeat') this.#onBeatFrame(peer, bytes)
    else this.#onBusFrame(peer, bytes)
  }

  #onBusFrame(peer: string, bytes: Uint8Array): void {
    const decoded = decodeTopicFrame(bytes, this.#maxFrame)
    if (!decoded.ok) {
      this.#drops.drop(decoded.reason, decoded.detail, { peer, path: 'bus link' })
      return
    }
    const frame = decoded.frame
    if (frame.k !== 'bus') {
      this.#drops.drop('invalid', `a "${frame.k}" frame on a bus link`, { peer, path: 'bus link' })
      return
    }
    if (frame.from !== peer) {
      this.#drops.drop('foreign', `bus frame claims to be from ${frame.from}`, { peer, path: 'bus link' })
      return
    }
    this.#onBus(frame)
  }

  #onBus(frame: BusFrame): void {
    if (frame.from === this.id) return
    if (!this.#table.has(frame.from)) {
      this.#drops.drop(
        'foreign',
        `bus frame from non-member ${frame.from}`,
        { count: frame.msgs.length },
        frame.msgs.length,
      )
      return
    }
    this.#receiver.receive(frame.from, frame.msgs)
  }

  #requestRetransmissions(): void {
    if (!this.#up) return
    for (const { sender, ranges } of this.#receiver.naksDue()) {
      this.#counters.retransmitRequests++
      const frame = encodeFrame({ v: 1, k: 'nak', from: this.id, ranges: ranges.map((r) => [r.from, r.to]) })
      this.#transport.request(sender, frame, true).then(
        (reply) => {
          if (reply.k !== 'rtx') throw new Error(`expected a retransmission, got "${reply.k}"`)
          this.#receiver.retransmitted(sender, reply.low, reply.msgs)
        },
        (err: Error) => {
          this.#receiver.nakFailed(sender)
          this.#log.debug('retransmission request failed', { peer: sender, error: err.message })
        },
      )
    }
  }

  #lost(from: string, range: SeqRange): void {
    this.#counters.gapsLost += range.to - range.from + 1
    this.#log.warn('bus messages lost: the sender no longer holds them', {
      peer: from,
      from: range.from,
      to: range.to,
    })
    this.events.emit('gap', { from, lost: range })
  }

  #onDirect(frame: DirectFrame): Uint8Array | null {
    switch (frame.k) {
      case 'nak':
        return this.#retransmit(frame.ranges)
      case 'ack':
        this.#sender.ack(frame.from, frame.seq)
        return null
      case 'leave':
        this.#onLeave(frame.from)
        return null
      case 'state?':
        return this.#provideState(frame.from, frame.names)
      default:
        this.#drops.drop('invalid', `unexpected direct frame "${frame.k}"`, { peer: frame.from })
        return null
    }
  }

  #retransmit(ranges: [number, number][]): Uint8Array {
    const out: string[] = []
    let bytes = 0
    const budget = this.#s.maxBatchBytes
    for (const [from, to] of ranges) {
      for (const json of this.#sender.held(from, to)) {
        if (bytes + json.length > budget && out.length > 0) break
        out.push(json)
        bytes += json.length
      }
      if (bytes > budget) break
    }
    this.#counters.retransmitted += out.length
    return encodeRetransmitFrame(this.id, this.#sender.lowestHeld, out)
  }

  #provideState(from: string, names?: readonly string[]): Uint8Array {
    // Synchronous: the state and the digest describe the same moment.
    const state = this.#state.collect(names)
    const digest = { ...this.#receiver.digest(), [this.id]: this.#sender.highest }
    this.#log.info('sending state', {
      to: from,
      names: Object.keys(state),
      ...(names ? { pulled: true } : {}),
    })
    return encodeFrame({ v: 1, k: 'state', from: this.id, state, digest })
  }

  // ---- leaving ------------------------------------------------------------

  /** Waits (up to leaveTimeout) until every member has what this node sent. */
  async #drain(): Promise<void> {
    const until = this.#clock.now() + this.#s.leaveTimeout
    while (
      this.#clock.now() < until &&
      (this.#sender.queued > 0 || this.#sender.lowestHeld <= this.#sender.highest)
    )
      await this.#alarm.sleep(20)
  }

  async #sayGoodbye(): Promise<void> {
    const frame: DirectFrame = { v: 1, k: 'leave', from: this.id }
    // First on the open heartbeat links (no stream to negotiate: quickest under load), then gossip and direct.
    this.#transport.linkSend('heartbeat', this.#connectedPeers(), encodeFrame(frame))
    await this.#publish(this.#names.heartbeatTopic, encodeFrame(frame)).catch(() => {})
    if (!this.#up) return
    // The connections close only once each member has handled the notice: a member that sees
    // its connection to this node close first suspects it ('closed'). Neither a frame handed to
    // the muxer nor a view change here tells that (the coordinator's view without this node
    // used to wake a sleep meant to last GOODBYE_WAIT_MS, and close the connections within ms).
    const signal = clockTimeout(this.#clock, GOODBYE_WAIT_MS)
    const others = this.#table.entries().filter((e) => e.member.id !== this.id)
    await Promise.allSettled(
      others.map((e) => this.#transport.deliver(e.member.id, encodeFrame(frame), signal)),
    )
  }

  // ---- helpers ------------------------------------------------------------

  #mustRun(what: string): void {
    if (this.#phase !== 'joined' && this.#phase !== 'joining') throw new MeshNotRunningError(what)
  }
}
