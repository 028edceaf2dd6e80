import {
  type BusTarget,
  type ClusterPort,
  formatAddress,
  type InvokeHandlers,
  type InvokeReply,
  type Logger,
  type Member,
  type MemberLoad,
  type MeshCounters,
  SafeEmitter,
  type Startable,
  type StateHandlers,
  type View,
  type ViewChange,
} from '@meshcast/interface'
import { Alarm } from './alarm.ts'
import { Bus, type InvokeOptions, type MessageHandler, type SendOptions } from './bus/bus.ts'
import { Nakack } from './bus/nakack.ts'
import type { SeqRange } from './bus/receive-window.ts'
import { BusReceiver } from './bus/receiver.ts'
import { BusSender } from './bus/sender.ts'
import { toWire } from './bus/targets.ts'
import { type Clock, systemClock, type TimerHandle } from './clock.ts'
import { clusterKey, clusterNames } from './cluster-key.ts'
import type { MeshContext, MeshState, MeshTallies } from './context.ts'
import { DropLog } from './drop-log.ts'
import { MeshNotRunningError } from './errors.ts'
import { FailureDetector } from './membership/failure-detector.ts'
import { Gms } from './membership/gms.ts'
import { Heartbeats } from './membership/heartbeats.ts'
import { MemberTable, type SuspectReason } from './membership/member-table.ts'
import { ViewKeeper } from './membership/view-keeper.ts'
import { type MeshInit, type MeshSettings, settings } from './options.ts'
import { StateRegistry } from './state-registry.ts'
import { StateTransfer } from './state-transfer.ts'
import { Connector } from './transport/connector.ts'
import { newIdentity } from './transport/identity.ts'
import { Libp2pTransport } from './transport/libp2p-transport.ts'
import { LostMembers } from './transport/lost-members.ts'
import type { LookupAll } from './transport/names.ts'
import type { MeshTransport } from './transport/transport.ts'
import { encodeFrame } from './wire/codec.ts'
import type { DirectFrame } from './wire/frames.ts'
import { FrameRouter } from './wire/router.ts'

export type { MeshState }

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
 * and receiver are both up. Knows nothing of streams.
 *
 * A facade over parts with one job each, as JGroups stacks protocols:
 * the transport (libp2p, or the simulator's network) and the Connector
 * that keeps this node connected; Heartbeats out, the FrameRouter for what
 * comes in; the FailureDetector; Gms, which installs views; Nakack, the bus
 * between members; StateTransfer; and the Bus the applications use. This
 * class builds them, runs the join and the leave, and answers the API.
 */
export class Mesh implements Startable, ClusterPort {
  readonly id: string
  readonly events: SafeEmitter<MeshEvents>
  readonly #s: MeshSettings
  readonly #log: Logger
  readonly #clock: Clock
  readonly #random: () => number
  readonly #transport: MeshTransport
  readonly #names: ReturnType<typeof clusterNames>
  readonly #drops: DropLog
  readonly #registry: StateRegistry
  readonly #startedAt: number
  readonly #table: MemberTable
  readonly #keeper: ViewKeeper
  readonly #sender: BusSender
  readonly #receiver: BusReceiver
  readonly #bus: Bus
  readonly #nakack: Nakack
  readonly #heartbeats: Heartbeats
  readonly #detector: FailureDetector
  readonly #gms: Gms
  readonly #stateTransfer: StateTransfer
  readonly #router: FrameRouter
  readonly #tallies: MeshTallies = {
    viewChanges: 0,
    suspicions: 0,
    silences: 0,
    retransmitted: 0,
    retransmitRequests: 0,
    gapsLost: 0,
  }
  readonly #lookup: LookupAll | undefined
  #connector: Connector | null = null
  /** the last addresses of members lost without a goodbye, dialled until they answer (healing) */
  #lostMembers: LostMembers | null = null
  #up = false
  #phase: MeshState = 'idle'
  #timers: TimerHandle[] = []
  #load: MemberLoad = { subscribers: 0, streams: 0 }
  #data: Record<string, unknown> = {}
  /** the join loop and the leave drain sleep on it; a view change wakes them */
  readonly #alarm: Alarm

  constructor(init: MeshInit, components: MeshComponents) {
    const s = settings(init)
    this.#s = s
    const maxFrame = frameLimit(s)
    this.#log = components.logger.child({ component: 'mesh' })
    this.#clock = components.clock ?? systemClock
    this.#random = components.random ?? Math.random
    this.#alarm = new Alarm(this.#clock)
    this.#lookup = components.lookup
    this.events = new SafeEmitter((err, event) =>
      this.#log.error('mesh event listener threw', { event: String(event), error: (err as Error).message }),
    )
    const key = clusterKey(s.password)
    this.#names = clusterNames(key.tag)
    this.#transport =
      components.transport ??
      new Libp2pTransport(
        {
          identity: init.identity ?? newIdentity(),
          host: s.host,
          port: s.port,
          psk: key.psk,
          names: this.#names,
          mdns: s.mdns,
          mdnsInterval: s.mdnsInterval,
          dialTimeout: s.dialTimeout,
          requestTimeout: s.requestTimeout,
          maxFrameBytes: maxFrame,
          maxStateBytes: s.maxStateBytes,
          inboundLimits: s.inboundLimits,
        },
        this.#log,
      )
    this.id = this.#transport.id
    this.#drops = new DropLog(this.#log, this.#clock)
    this.#registry = new StateRegistry(this.#log)
    this.#startedAt = this.#clock.now()
    this.#table = new MemberTable(
      this.#selfRecord(),
      {
        suspectAfter: s.suspectAfter,
        closedGrace: s.closedGrace,
        silentGrace: s.silentGrace,
        youngFor: s.youngFor,
      },
      this.#startedAt,
    )
    this.#keeper = new ViewKeeper(this.#selfRecord(), { bundling: s.viewBundling })
    this.#sender = new BusSender(
      { maxInFlight: s.maxInFlight, maxBatchBytes: s.maxBatchBytes },
      {
        selfId: this.id,
        logger: this.#log,
        publish: async (frame) => this.#nakack.publish(frame),
        soon: (fn) => this.#clock.soon(fn),
      },
    )
    this.#receiver = new BusReceiver(
      { ackEvery: Math.max(1, Math.floor(s.maxInFlight / 4)), maxNak: 5000, tailAfter: 2 * s.nakInterval },
      {
        deliver: (from, envelope) => this.#bus.deliver(from, envelope),
        lost: (from, range) => this.#nakack.lost(from, range),
        ack: (from, seq) => this.#nakack.ack(from, seq),
        now: () => this.#clock.now(),
      },
    )
    const ctx: MeshContext = {
      id: this.id,
      s,
      log: this.#log,
      clock: this.#clock,
      transport: this.#transport,
      drops: this.#drops,
      table: this.#table,
      keeper: this.#keeper,
      sender: this.#sender,
      receiver: this.#receiver,
      tallies: this.#tallies,
      maxFrame,
      phase: () => this.#phase,
      up: () => this.#up,
      connector: () => this.#connector,
      lostMembers: () => this.#lostMembers,
    }
    this.#bus = new Bus({
      selfId: this.id,
      role: s.self.role,
      logger: this.#log.child({ component: 'mesh:bus' }),
      sender: this.#sender,
      drops: this.#drops,
      members: () => this.#keeper.view.members,
      maxMessageBytes: s.maxMessageBytes,
      maxQueuedBytes: s.maxQueuedBytes,
      invokeTimeout: s.invokeTimeout,
      clock: this.#clock,
    })
    this.#nakack = new Nakack(ctx, (from, lost) => this.events.emit('gap', { from, lost }))
    this.#stateTransfer = new StateTransfer(ctx, this.#registry, this.#nakack, this.#alarm)
    this.#heartbeats = new Heartbeats(ctx, this.#names.heartbeatTopic, () => this.#selfRecord())
    this.#gms = new Gms(ctx, {
      member: (m) => this.events.emit('member', m),
      busInfo: (frame) => this.#nakack.heartbeat(frame),
      forget: (id) => this.#nakack.forget(id),
      installed: (change) => this.#viewInstalled(change),
      rejoin: () => this.#stateTransfer.rejoin(),
      beatSoon: () => this.#heartbeats.soon(),
      beatTo: (id) => this.#heartbeats.to([id], false),
    })
    this.#detector = new FailureDetector(ctx, {
      silent: (id) => {
        this.#tallies.silences++
        this.#log.info('member silent: asking it', { peer: id })
      },
      answered: (id) => this.#log.info('silent member answered: not suspected', { peer: id }),
      suspected: (id, reason) => {
        this.#tallies.suspicions++
        this.#log.info('member suspected', { peer: id, reason })
        this.events.emit('suspect', { id, reason })
      },
      removed: (entry) => {
        this.#gms.removed(entry.member.id, `suspected (${entry.suspect?.reason}) and not cleared`)
        this.#lostMembers?.lost(entry.member.id, entry.member.mesh)
      },
      reconcile: () => this.#gms.reconcile(),
    })
    this.#router = new FrameRouter(this.#drops, maxFrame, this.#names.heartbeatTopic, {
      heartbeat: (frame) => this.#gms.heard(frame),
      leave: (from) => this.#gms.leave(from),
      bus: (frame) => this.#nakack.receive(frame),
      nak: (ranges) => this.#nakack.retransmit(ranges),
      ack: (from, seq) => this.#sender.ack(from, seq),
      state: (from, names) => this.#stateTransfer.provide(from, names),
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
    return this.#registry.register(name, handlers)
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
    return await this.#stateTransfer.pull(from, name)
  }

  /** Attaches a small value to this node's heartbeats (other members see it in `member.data`). */
  setData(key: string, value: unknown): void {
    if (value === undefined) delete this.#data[key]
    else this.#data[key] = value
    this.#table.updateSelf(this.#selfRecord())
    // others should not wait a whole interval for what may be news (a stream advert)
    if (this.#phase === 'joined' || this.#phase === 'joining') this.#heartbeats.soon()
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
      ...this.#tallies,
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
    this.#timers.push(this.#clock.setInterval(() => this.#heartbeats.send(), this.#s.heartbeatInterval))
    this.#timers.push(
      this.#clock.setInterval(() => {
        this.#detector.tick()
        this.#nakack.tick()
      }, this.#s.nakInterval),
    )
    this.#heartbeats.send()
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
    this.#heartbeats.stop()
    this.#gms.stop()
    this.#sender.stop()
    this.#bus.stop()
    await this.#stopTransport()
    this.#phase = 'stopped'
    this.#log.info('left the cluster')
  }

  async #startTransport(): Promise<void> {
    const s = this.#s
    const transport = this.#transport
    transport.events.on('topic', ({ topic, data }) => this.#router.topic(topic, data))
    // A joiner's first beats must reach a coordinator it is not connected to: gossip can carry them once a peer subscribes.
    transport.events.on('subscribed', () => {
      if (this.#phase === 'joining') this.#heartbeats.soon()
    })
    transport.events.on('connect', (peer) => {
      this.#detector.connected(peer)
      // Only the new peer needs this node's beat now; the others heard it half a second ago.
      this.#heartbeats.to([peer], false)
    })
    transport.events.on('disconnect', (peer) => this.#detector.disconnected(peer))
    await transport.start({
      direct: (frame) => this.#router.direct(frame),
      link: (path, peer, bytes) => this.#router.link(path, peer, bytes),
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
        dial: (target) => transport.dial(target, { signal: this.#clock.timeout(s.dialTimeout) }),
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

  // ---- joining ------------------------------------------------------------

  /**
   * Waits to hear of an existing cluster (up to joinTimeout). When another
   * node leads, fetches the applications' state from it before telling
   * anyone this node has joined; otherwise this node leads its own view.
   */
  async #join(): Promise<void> {
    // With seeds, listen for joinTimeout after the first dial to them ends (reached or not): under load
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
        if (await this.#stateTransfer.fetch(view.coordinator)) break
        continue
      }
      const others = this.#table.size > 1
      if (this.#clock.now() >= deadline || (others && this.#table.ordered()[0]?.id === this.id)) break
      await this.#alarm.sleep(Math.min(50, Math.max(1, deadline - this.#clock.now())))
    }
    if (this.#phase !== 'joining') return
    this.#stateTransfer.startFromOwn()
    this.#phase = 'joined'
    const view = this.#keeper.view
    this.#log.info('joined the cluster', {
      view: view.id,
      members: view.members.length,
      coordinator: view.coordinator,
    })
    this.events.emit('view', { view, joined: view.members, left: [], merged: false, others: [] })
  }

  /** What a new view means beyond membership: invocations of members that left end, sleepers wake, applications hear. */
  #viewInstalled(change: ViewChange): void {
    if (change.left.length > 0) this.#bus.membersLeft(change.left.map((m) => m.id))
    this.#alarm.wake()
    if (this.#phase === 'joined') this.events.emit('view', change)
  }

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
    if (!this.#up) return
    const frame = encodeFrame({ v: 1, k: 'leave', from: this.id } satisfies DirectFrame)
    // First on the open heartbeat links (no stream to negotiate: quickest under load), then gossip and direct.
    this.#transport.linkSend('heartbeat', this.#heartbeats.connectedPeers(), frame)
    await this.#transport.publish(this.#names.heartbeatTopic, frame).catch(() => {})
    // The connections close only once each member has handled the notice: a member that sees
    // its connection to this node close first suspects it ('closed'). Neither a frame handed to
    // the muxer nor a view change here tells that (the coordinator's view without this node
    // used to wake a sleep meant to last GOODBYE_WAIT_MS, and close the connections within ms).
    // the system clock's AbortSignal.timeout holds no process up after a stop
    const signal = this.#clock.timeout(GOODBYE_WAIT_MS)
    const others = this.#table.entries().filter((e) => e.member.id !== this.id)
    await Promise.allSettled(others.map((e) => this.#transport.deliver(e.member.id, frame, signal)))
  }

  #mustRun(what: string): void {
    if (this.#phase !== 'joined' && this.#phase !== 'joining') throw new MeshNotRunningError(what)
  }
}
