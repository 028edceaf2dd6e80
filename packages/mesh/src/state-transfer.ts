import { isBusName } from '@meshcast/interface'
import type { Alarm } from './alarm.ts'
import type { Nakack } from './bus/nakack.ts'
import type { MeshContext } from './context.ts'
import { BusArgumentError } from './errors.ts'
import type { StateRegistry } from './state-registry.ts'
import { encodeFrame } from './wire/codec.ts'
import type { StateFrame } from './wire/frames.ts'

/**
 * State transfer, JGroups STATE's way: a joiner (or a node that was alone
 * and is now led by another) asks the coordinator for every application's
 * state with the digest it reflects, and its bus windows open right after
 * that digest, so no message is both in the state and delivered, and none
 * in neither. Also the pull of one state from one member after a merge.
 */
export class StateTransfer {
  readonly #ctx: MeshContext
  readonly #registry: StateRegistry
  readonly #nakack: Nakack
  readonly #alarm: Alarm
  #rejoining: Promise<void> | null = null

  constructor(ctx: MeshContext, registry: StateRegistry, nakack: Nakack, alarm: Alarm) {
    this.#ctx = ctx
    this.#registry = registry
    this.#nakack = nakack
    this.#alarm = alarm
  }

  /** Asks `coordinator` for the state; false when it failed (the caller tries again). */
  async fetch(coordinator: string): Promise<boolean> {
    const ctx = this.#ctx
    if (!ctx.up()) return false
    try {
      const reply = await ctx.transport.request(
        coordinator,
        encodeFrame({ v: 1, k: 'state?', from: ctx.id }),
        true,
      )
      if (reply.k !== 'state') throw new Error(`expected a state frame, got "${reply.k}"`)
      this.startFrom(reply)
      ctx.log.info('received state', { from: coordinator, names: Object.keys(reply.state) })
      return true
    } catch (err) {
      ctx.log.warn('state transfer failed; trying again', {
        from: coordinator,
        error: (err as Error).message,
      })
      await this.#alarm.sleep(200)
      return false
    }
  }

  /** Opens the bus windows where the state leaves off, then hands the state to the applications. */
  startFrom(frame: StateFrame): void {
    if (this.#nakack.windowsOpen) return
    this.#nakack.openAt(frame.digest)
    this.#registry.apply(frame.state)
    this.#nakack.openWindows()
  }

  /** No state to take (this node leads its view): it starts from its own, each window where heartbeats say. */
  startFromOwn(): void {
    if (this.#nakack.windowsOpen) return
    this.#nakack.openWindows()
  }

  /** A node that was alone and is now led by another: it joins that cluster, state and all. */
  rejoin(): void {
    if (this.#rejoining !== null) return
    this.#nakack.holdWindows()
    const ctx = this.#ctx
    this.#rejoining = (async () => {
      while (ctx.phase() === 'joined' && !this.#nakack.windowsOpen) {
        const current = ctx.keeper.view.coordinator
        if (current === ctx.id) {
          this.startFromOwn()
          break
        }
        await this.fetch(current)
      }
    })().finally(() => {
      this.#rejoining = null
    })
  }

  /** The state frame a member asked for: every application's state (or the `names` pulled) and the digest. */
  provide(from: string, names?: readonly string[]): Uint8Array {
    // Synchronous: the state and the digest describe the same moment.
    const state = this.#registry.collect(names)
    const digest = this.#nakack.digest()
    this.#ctx.log.info('sending state', {
      to: from,
      names: Object.keys(state),
      ...(names ? { pulled: true } : {}),
    })
    return encodeFrame({ v: 1, k: 'state', from: this.#ctx.id, state, digest })
  }

  /** Pulls one state from one member (see Mesh.fetchState). */
  async pull(from: string, name: string): Promise<unknown> {
    const ctx = this.#ctx
    if (!isBusName(name)) throw new BusArgumentError(`bad state name ${JSON.stringify(name)}`)
    if (from === ctx.id) return this.#registry.collect([name])[name]
    const reply = await ctx.transport.request(
      from,
      encodeFrame({ v: 1, k: 'state?', from: ctx.id, names: [name] }),
      true,
    )
    if (reply.k !== 'state') throw new Error(`expected a state frame from ${from}, got "${reply.k}"`)
    return reply.state[name]
  }
}
