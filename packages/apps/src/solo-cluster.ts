import {
  type BusMessage,
  type BusTarget,
  failedReply,
  type InvokeHandlers,
  type InvokeReply,
  isAddressed,
  type Member,
  parseMethodName,
  SafeEmitter,
  type View,
  type ViewChange,
} from '@meshcast/interface'
import { AppArgumentError, describeError } from './errors.ts'
import type { ClusterPort, StateHandlers } from './types.ts'

/**
 * The cluster of a standalone node (`nodeType` off): this node alone. Sends
 * and invocations that name it are delivered locally (through JSON, as the
 * mesh does), the view never changes, and there is never any state to
 * receive. Applications run unchanged on it.
 */
export class SoloCluster implements ClusterPort {
  readonly id: string
  readonly view: View
  readonly events = new SafeEmitter<{ view: ViewChange }>(() => {})
  readonly #self: Member
  readonly #channels = new Map<string, Set<(message: BusMessage) => void>>()
  readonly #handlers = new Map<string, InvokeHandlers>()

  constructor(self: Member) {
    this.#self = self
    this.id = self.id
    this.view = Object.freeze({
      id: `${self.id.slice(-8)}:1`,
      counter: 1,
      coordinator: self.id,
      members: [self],
    })
  }

  async send(target: BusTarget, channel: string, data: unknown, options?: { self?: boolean }): Promise<void> {
    const copy: unknown = JSON.parse(JSON.stringify(data ?? null))
    if (options?.self === false || !isAddressed(target, this.#self.id, this.#self.role)) return
    queueMicrotask(() => {
      for (const handler of this.#channels.get(channel) ?? []) handler({ from: this.id, channel, data: copy })
    })
  }

  async invoke(
    target: BusTarget,
    method: string,
    args?: unknown,
    options?: { timeout?: number; self?: boolean },
  ): Promise<InvokeReply[]> {
    if (options?.self === false || !isAddressed(target, this.#self.id, this.#self.role)) return []
    const named = parseMethodName(method)
    const fn = named === null ? undefined : this.#handlers.get(named.handler)?.[named.method]
    if (typeof fn !== 'function')
      return [failedReply(this.id, 'NoSuchMethodError', `no handler for "${method}" on this node`)]
    try {
      const value: unknown = await fn(JSON.parse(JSON.stringify(args ?? null)), this.id)
      return [{ node: this.id, ok: true, value: JSON.parse(JSON.stringify(value ?? null)) }]
    } catch (err) {
      return [{ node: this.id, ok: false, error: describeError(err) }]
    }
  }

  onMessage(channel: string, handler: (message: BusMessage) => void): () => void {
    let set = this.#channels.get(channel)
    if (set === undefined) {
      set = new Set()
      this.#channels.set(channel, set)
    }
    const handlers = set
    handlers.add(handler)
    return () => handlers.delete(handler)
  }

  register(name: string, handlers: InvokeHandlers): () => void {
    if (this.#handlers.has(name)) throw new AppArgumentError(`handler "${name}" is already registered`)
    this.#handlers.set(name, handlers)
    return () => {
      if (this.#handlers.get(name) === handlers) this.#handlers.delete(name)
    }
  }

  registerState(_name: string, _handlers: StateHandlers): () => void {
    return () => {}
  }

  /** There is no other member to pull from; this node's own state is the app's to read. */
  async fetchState(from: string, name: string): Promise<unknown> {
    throw new AppArgumentError(`no member ${from} to pull state "${name}" from: this node is standalone`)
  }
}
