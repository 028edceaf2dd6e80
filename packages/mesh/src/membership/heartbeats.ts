import type { Member } from '@meshcast/interface'
import type { TimerHandle } from '../clock.ts'
import type { MeshContext } from '../context.ts'
import { encodeFrame } from '../wire/codec.ts'
import type { HeartbeatFrame } from '../wire/frames.ts'
import { gossipNeeded } from './gossip-policy.ts'

/**
 * This node's heartbeats: its record, its bus position and, on a
 * coordinator, its view. Straight to every connected peer on a heartbeat
 * link, and on gossip only where those links may not reach (gossipNeeded).
 */
export class Heartbeats {
  readonly #ctx: MeshContext
  readonly #topic: string
  readonly #self: () => Member
  #number = 0
  /** heartbeats sent to every peer (not the ones to a peer that just connected) */
  #rounds = 0
  #soonTimer: TimerHandle | null = null

  constructor(ctx: MeshContext, topic: string, self: () => Member) {
    this.#ctx = ctx
    this.#topic = topic
    this.#self = self
  }

  /** The periodic heartbeat (and the one a view change or new data asks for). */
  send(): void {
    const ctx = this.#ctx
    const connected = this.connectedPeers()
    const gossip = gossipNeeded({
      selfId: ctx.id,
      joining: ctx.phase() === 'joining',
      coordinator: ctx.keeper.isCoordinator,
      connected: new Set(connected),
      heard: ctx.table.entries().map((e) => e.member.id),
      view: ctx.keeper.view.members.map((m) => m.id),
      announcers: ctx.keeper.announcers(),
      round: ++this.#rounds,
    })
    this.to(connected, gossip)
  }

  /** An extra heartbeat shortly (a view changed, a peer subscribed), at most one pending. */
  soon(): void {
    if (this.#soonTimer !== null) return
    this.#soonTimer = this.#ctx.clock.setTimeout(() => {
      this.#soonTimer = null
      this.send()
    }, 20)
  }

  /** Sends one heartbeat to `peers` on their heartbeat links, and on gossip when `gossip`. */
  to(peers: readonly string[], gossip: boolean): void {
    const ctx = this.#ctx
    if (!ctx.up() || ctx.phase() === 'stopped') return
    const frame: HeartbeatFrame = {
      v: 1,
      k: 'hb',
      n: ++this.#number,
      member: this.#self(),
      seq: ctx.sender.highest,
      acks: ctx.receiver.digest(),
      joined: ctx.sender.joinedMap(),
    }
    const view = ctx.keeper.wire()
    if (view !== undefined) frame.view = view
    if (ctx.phase() === 'joined') frame.side = ctx.keeper.view.id
    const bytes = encodeFrame(frame)
    ctx.transport.linkSend('heartbeat', peers, bytes)
    // Gossip reaches peers not connected to this node; direct links cover the rest.
    if (gossip)
      ctx.transport
        .publish(this.#topic, bytes)
        .catch((err: Error) => ctx.log.debug('heartbeat publish failed', { error: err.message }))
  }

  /** Peers with a connection to this node: on the private network, all of this cluster. */
  connectedPeers(): string[] {
    return this.#ctx.up() ? this.#ctx.transport.connectedPeers() : []
  }

  stop(): void {
    if (this.#soonTimer !== null) this.#ctx.clock.clearTimeout(this.#soonTimer)
    this.#soonTimer = null
  }
}
