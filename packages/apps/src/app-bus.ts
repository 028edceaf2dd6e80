import { type BusMessage, type BusTarget, isBusName, type Logger } from '@meshcast/interface'
import type { AppScope } from './app-scope.ts'
import { AppArgumentError } from './errors.ts'
import type { ClusterPort } from './types.ts'

/** Channel names an application may use (the mesh's own rule). */
/** Messages held for an app that is not running yet; beyond this the newest are dropped. */
export const MAX_HELD_MESSAGES = 10_000

/** The bus prefix of everything an application registers: `app/<name>/…`. */
export function appNamespace(name: string): string {
  return `app/${name}`
}

/** What rides the mesh for an app: its own channel and the data. */
interface Envelope {
  c: string
  d: unknown
}

function isEnvelope(data: unknown): data is Envelope {
  const e = data as Envelope | null
  return typeof e === 'object' && e !== null && typeof e.c === 'string' && isBusName(e.c) && 'd' in e
}

export function checkChannel(channel: string): void {
  if (!isBusName(channel)) {
    throw new AppArgumentError(
      `bad channel name ${JSON.stringify(channel)}: use 1 to 128 letters, digits or _ . : / -`,
    )
  }
}

/**
 * One application's bus traffic. All of its channels ride one mesh channel,
 * `app/<name>`, which the host subscribes before the node joins: messages
 * that arrive between the join and the app's start are held, then
 * delivered in order, so none is lost to a handler not yet registered.
 */
export class AppBus {
  readonly meshChannel: string
  readonly #port: ClusterPort
  readonly #scope: AppScope
  readonly #log: Logger
  readonly #handlers = new Map<string, Set<(message: BusMessage) => void>>()
  #held: BusMessage[] | null = []
  #overflowed = false

  constructor(name: string, port: ClusterPort, scope: AppScope, logger: Logger) {
    this.meshChannel = appNamespace(name)
    this.#port = port
    this.#scope = scope
    this.#log = logger
  }

  /** Subscribes the app's mesh channel; returns the unsubscribe. */
  attach(): () => void {
    return this.#port.onMessage(this.meshChannel, (m) => this.#inbound(m))
  }

  /** Delivers what was held, and from now on each message as it comes. */
  release(): void {
    const held = this.#held ?? []
    this.#held = null
    for (const message of held) this.#deliver(message)
  }

  onMessage(channel: string, handler: (message: BusMessage) => void): () => void {
    checkChannel(channel)
    let set = this.#handlers.get(channel)
    if (set === undefined) {
      set = new Set()
      this.#handlers.set(channel, set)
    }
    const handlers = set
    handlers.add(handler)
    return () => handlers.delete(handler)
  }

  async send(target: BusTarget, channel: string, data: unknown, options?: { self?: boolean }): Promise<void> {
    checkChannel(channel)
    const envelope: Envelope = { c: channel, d: data === undefined ? null : data }
    await this.#port.send(target, this.meshChannel, envelope, options)
  }

  #inbound(m: BusMessage): void {
    if (!isEnvelope(m.data)) {
      this.#log.warn('malformed application message dropped', { from: m.from })
      return
    }
    const message: BusMessage = { from: m.from, channel: m.data.c, data: m.data.d }
    if (this.#held === null) {
      this.#deliver(message)
    } else if (this.#held.length < MAX_HELD_MESSAGES) {
      this.#held.push(message)
    } else if (!this.#overflowed) {
      this.#overflowed = true
      this.#log.warn('too many messages held for an application that has not started; dropping', {
        held: MAX_HELD_MESSAGES,
      })
    }
  }

  #deliver(message: BusMessage): void {
    const handlers = this.#handlers.get(message.channel)
    if (handlers === undefined || handlers.size === 0) {
      this.#log.debug('no handler for an application message', { channel: message.channel })
      return
    }
    for (const handler of [...handlers]) {
      this.#scope.call(`message on "${message.channel}"`, () => handler(message))
    }
  }
}
