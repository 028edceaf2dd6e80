import {
  type BusMessage,
  failedReply,
  type InvokeFailure,
  type InvokeHandlers,
  type InvokeReply,
  isBusName,
  type Logger,
  type Member,
  parseMethodName,
  type Role,
} from '@meshcast/interface'
import { type Clock, systemClock, type TimerHandle } from '../clock.ts'
import type { DropLog } from '../drop-log.ts'
import { BusArgumentError, BusDataError, BusOverloadError, MessageTooLargeError } from '../errors.ts'
import { utf8Length } from '../wire/codec.ts'
import type { BusEnvelope, WireTarget } from '../wire/frames.ts'
import type { BusSender } from './sender.ts'
import { addresses, resolve } from './targets.ts'

export type MessageHandler = (message: BusMessage) => void

export interface SendOptions {
  /** deliver to this node too when the target includes it (default true) */
  self?: boolean
}

export interface InvokeOptions extends SendOptions {
  /** ms to wait for each target's reply (default: the mesh's invokeTimeout) */
  timeout?: number
}

export interface BusComponents {
  selfId: string
  role: Role
  logger: Logger
  sender: BusSender
  drops: DropLog
  /** the current view's members */
  members: () => readonly Member[]
  maxMessageBytes: number
  /** bytes the send queue may hold before application sends are refused */
  maxQueuedBytes: number
  invokeTimeout: number
  /** the invocations' timers (default: the system's) */
  clock?: Pick<Clock, 'setTimeout' | 'clearTimeout'>
}

interface Pending {
  waiting: Map<string, TimerHandle>
  replies: InvokeReply[]
  resolve: (replies: InvokeReply[]) => void
}

function errorOf(err: unknown): { name: string; message: string } {
  if (err instanceof Error) return { name: err.name, message: err.message }
  return { name: 'Error', message: String(err) }
}

/**
 * The application side of the bus: channels, sends to any target,
 * invocations and their replies. Ordering and reliability live below it
 * (sender and receiver); this part decides who a message is for.
 */
export class Bus {
  readonly #c: BusComponents
  readonly #channels = new Map<string, Set<MessageHandler>>()
  readonly #handlers = new Map<string, InvokeHandlers>()
  readonly #pending = new Map<number, Pending>()
  #nextInvocation = 1
  delivered = 0

  constructor(components: BusComponents) {
    this.#c = components
  }

  /** Listens on a channel; returns a function that stops listening. */
  onMessage(channel: string, handler: MessageHandler): () => void {
    if (!isBusName(channel)) throw new BusArgumentError(`bad channel name ${JSON.stringify(channel)}`)
    let set = this.#channels.get(channel)
    if (set === undefined) {
      set = new Set()
      this.#channels.set(channel, set)
    }
    set.add(handler)
    return () => set.delete(handler)
  }

  /** Registers RPC handlers: `invoke('name.method')` calls `handlers.method`. */
  register(name: string, handlers: InvokeHandlers): () => void {
    if (!isBusName(name)) throw new BusArgumentError(`bad handler name ${JSON.stringify(name)}`)
    if (this.#handlers.has(name)) throw new BusArgumentError(`handler "${name}" is already registered`)
    this.#handlers.set(name, handlers)
    return () => {
      if (this.#handlers.get(name) === handlers) this.#handlers.delete(name)
    }
  }

  send(target: WireTarget, channel: string, data: unknown, opts: SendOptions = {}): Promise<void> {
    if (!isBusName(channel)) throw new BusArgumentError(`bad channel name ${JSON.stringify(channel)}`)
    const json = this.#serialise(data)
    this.#mustHaveRoom()
    const done = this.#c.sender.send(target, `"c":${JSON.stringify(channel)},"d":${json}`)
    if (opts.self !== false && addresses(target, this.#c.selfId, this.#c.role)) {
      // Through JSON, so this node sees exactly what the others see.
      const envelope: BusEnvelope = { s: 0, t: target, c: channel, d: JSON.parse(json) }
      queueMicrotask(() => this.#dispatch(this.#c.selfId, envelope))
    }
    return done
  }

  async invoke(
    target: WireTarget,
    method: string,
    args: unknown,
    opts: InvokeOptions = {},
  ): Promise<InvokeReply[]> {
    if (parseMethodName(method) === null)
      throw new BusArgumentError(`bad method ${JSON.stringify(method)}: use "handler.method"`)
    const json = this.#serialise(args)
    this.#mustHaveRoom()
    const timeout = opts.timeout ?? this.#c.invokeTimeout
    const targets = resolve(target, this.#c.members()).filter(
      (m) => opts.self !== false || m.id !== this.#c.selfId,
    )
    if (targets.length === 0) return []
    const i = this.#nextInvocation++
    const result = new Promise<InvokeReply[]>((resolvePromise) => {
      const pending: Pending = { waiting: new Map(), replies: [], resolve: resolvePromise }
      this.#pending.set(i, pending)
      for (const m of targets) {
        const timer = (this.#c.clock ?? systemClock).setTimeout(() => {
          this.#takeReply(i, failedReply(m.id, 'TimeoutError', `no reply within ${timeout} ms`))
        }, timeout)
        pending.waiting.set(m.id, timer)
      }
    })
    const remote = targets.filter((m) => m.id !== this.#c.selfId)
    if (remote.length > 0) {
      const wire: WireTarget = remote.length === 1 ? ['node', (remote[0] as Member).id] : target
      void this.#c.sender.send(wire, `"q":{"i":${i},"m":${JSON.stringify(method)},"a":${json}}`)
    }
    if (remote.length < targets.length) {
      const envelope: BusEnvelope = {
        s: 0,
        t: ['node', this.#c.selfId],
        q: { i, m: method, a: JSON.parse(json) },
      }
      queueMicrotask(() => this.#dispatch(this.#c.selfId, envelope))
    }
    return await result
  }

  /** Members that left answer no more: their pending invocations fail now. */
  membersLeft(ids: readonly string[]): void {
    for (const [i, pending] of this.#pending)
      for (const id of ids)
        if (pending.waiting.has(id))
          this.#takeReply(i, failedReply(id, 'MemberLeftError', 'the member left the view'))
  }

  /** Fails every pending invocation (the mesh is stopping). */
  stop(): void {
    for (const [i, pending] of this.#pending)
      for (const id of [...pending.waiting.keys()])
        this.#takeReply(i, failedReply(id, 'MeshNotRunningError', 'the mesh stopped'))
  }

  /** A message delivered in order from `from` (or from this node itself). */
  deliver(from: string, envelope: BusEnvelope): void {
    if (!addresses(envelope.t, this.#c.selfId, this.#c.role)) return
    this.#dispatch(from, envelope)
  }

  #dispatch(from: string, envelope: BusEnvelope): void {
    this.delivered++
    if ('c' in envelope) {
      const handlers = this.#channels.get(envelope.c)
      if (handlers === undefined || handlers.size === 0) {
        this.#c.drops.drop('noHandler', `no handler on channel "${envelope.c}"`, { from })
        return
      }
      const message: BusMessage = { from, channel: envelope.c, data: envelope.d }
      for (const h of handlers) {
        try {
          h(message)
        } catch (err) {
          this.#c.logger.error('bus message handler threw', {
            channel: envelope.c,
            error: errorOf(err).message,
          })
        }
      }
    } else if ('q' in envelope) {
      void this.#answer(from, envelope.q)
    } else {
      const { i, ok } = envelope.p
      const reply: InvokeReply = ok
        ? { node: from, ok: true, value: envelope.p.v ?? null }
        : { node: from, ok: false, error: envelope.p.e ?? { name: 'Error', message: 'unknown error' } }
      this.#takeReply(i, reply)
    }
  }

  async #answer(from: string, q: { i: number; m: string; a: unknown }): Promise<void> {
    let p: { i: number; ok: boolean; v?: unknown; e?: { name: string; message: string } }
    try {
      // the frame's validation checked the shape
      const { handler, method } = parseMethodName(q.m) as { handler: string; method: string }
      const fn = this.#handlers.get(handler)?.[method]
      if (typeof fn !== 'function')
        throw Object.assign(new Error(`no handler for "${q.m}" on this node`), {
          name: 'NoSuchMethodError' satisfies InvokeFailure,
        })
      const value = JSON.parse(this.#serialise(await fn(q.a, from)))
      p = { i: q.i, ok: true, v: value }
    } catch (err) {
      p = { i: q.i, ok: false, e: errorOf(err) }
    }
    if (from === this.#c.selfId) {
      queueMicrotask(() => this.#dispatch(from, { s: 0, t: ['node', from], p }))
      return
    }
    void this.#c.sender.send(['node', from], `"p":${JSON.stringify(p)}`)
  }

  /** One target's reply (or its failure) to invocation `i`: the invocation resolves once every target has one. */
  #takeReply(i: number, reply: InvokeReply): void {
    const pending = this.#pending.get(i)
    const timer = pending?.waiting.get(reply.node)
    if (pending === undefined || timer === undefined) return
    ;(this.#c.clock ?? systemClock).clearTimeout(timer)
    pending.waiting.delete(reply.node)
    pending.replies.push(reply)
    if (pending.waiting.size === 0) {
      this.#pending.delete(i)
      pending.resolve(pending.replies)
    }
  }

  /** Application sends stop at the queue limit; replies to invocations are never refused. */
  #mustHaveRoom(): void {
    const queued = this.#c.sender.queuedBytes
    if (queued > this.#c.maxQueuedBytes) throw new BusOverloadError(queued, this.#c.maxQueuedBytes)
  }

  /** JSON of `value` (undefined as null), within the size limit; throws otherwise. */
  #serialise(value: unknown): string {
    let json: string | undefined
    try {
      json = JSON.stringify(value === undefined ? null : value)
    } catch (err) {
      throw new BusDataError(`bus data cannot be sent as JSON: ${(err as Error).message}`, { cause: err })
    }
    if (json === undefined)
      throw new BusDataError('bus data cannot be sent as JSON (a function or a symbol?)')
    const size = utf8Length(json)
    if (size > this.#c.maxMessageBytes) throw new MessageTooLargeError(size, this.#c.maxMessageBytes)
    return json
  }
}
