import { createHash, randomUUID } from 'node:crypto'
import type { AppContext, AppSocket, ClusterHandle, Logger, ViewChange } from '@meshcast/node'
import { History } from './history.ts'
import {
  type Entry,
  isEntry,
  isPerson,
  MAX_FRAME_BYTES,
  MAX_NAME,
  MAX_TEXT,
  type Person,
  parseClientFrame,
  refOf,
} from './protocol.ts'
import { TokenBucket } from './rate-limit.ts'
import type { ChatSettings } from './settings.ts'

/** The bus channel every entry rides, to all nodes (this one too). */
const ENTRY_CHANNEL = 'entry'
/** A page this far behind (bytes queued) is cut; it reconnects and catches up from the history. */
const MAX_BUFFERED_BYTES = 1024 * 1024
/** Refused frames a page may send before it is cut. */
const MAX_STRIKES = 100
/** Tries to pull a member's history after a merge, and the wait between them (ms). */
const PULL_TRIES = 3
const PULL_RETRY_MS = 1000

/** One page on this node. */
interface Client {
  socket: AppSocket
  /** this connection's id, shown to nobody but used to pair its join and leave */
  id: string
  bucket: TokenBucket
  strikes: number
  /** set by its join */
  name: string | null
  key: string | null
}

/** The id of a page's message: the same for a resend, and unforgeable without the page's key. */
export function messageId(key: string, ref: number): string {
  return createHash('sha256').update(`${key}:${ref}`).digest('base64url').slice(0, 22)
}

/**
 * The chat room as one node sees it. Pages connect over a WebSocket; what
 * they say is stamped here (server time, node, id) and sent on the bus to
 * every node, this one included; each node pushes what the bus delivers to
 * its own pages. The bus keeps each sender's order, so each page's order.
 * Every node keeps the recent history, which a node that joins later gets
 * by state transfer, and a page that connects (or reconnects) in its welcome.
 */
export class ChatRoom {
  readonly #cluster: ClusterHandle
  readonly #log: Logger
  readonly #settings: ChatSettings
  readonly #history: History
  /** who is online, on every node, by connection */
  readonly #online = new Map<string, Person>()
  readonly #clients = new Set<Client>()
  readonly #ctx: AppContext
  /** the last time stamped here: stamps rise strictly, so the room's order keeps each sender's */
  #lastStamp = 0
  #closing = false

  constructor(ctx: AppContext, settings: ChatSettings) {
    this.#ctx = ctx
    this.#cluster = ctx.cluster
    this.#log = ctx.log
    this.#settings = settings
    this.#history = new History(settings.history)
    this.#cluster.registerState('room', {
      provide: () => ({ history: this.#history.list(), online: [...this.#online.values()] }),
      receive: (state) => this.#receive(state, 'state transfer'),
    })
    this.#cluster.onMessage(ENTRY_CHANNEL, (m) => this.#deliver(m.data))
    this.#cluster.onView((change) => this.#viewChanged(change))
    ctx.websocket('ws', (socket) => this.#connect(socket), { maxPayload: MAX_FRAME_BYTES })
  }

  /** Says goodbye for this node's pages (the node is stopping); the host closes their sockets next. */
  async close(): Promise<void> {
    this.#closing = true
    const leaving = [...this.#clients].filter((c) => c.name !== null)
    this.#clients.clear()
    await Promise.all(
      leaving.map((c) => this.#announceLeave(c.id, c.name as string, this.#cluster.id, 'left')),
    )
  }

  #connect(socket: AppSocket): void {
    const { rate, burst } = this.#settings
    const client: Client = {
      socket,
      id: randomUUID(),
      bucket: new TokenBucket(rate, burst),
      strikes: 0,
      name: null,
      key: null,
    }
    this.#clients.add(client)
    socket.onMessage((data) => this.#onFrame(client, data))
    socket.onClose(() => this.#disconnect(client))
  }

  #onFrame(client: Client, data: string | Uint8Array): void {
    if (typeof data !== 'string') {
      this.#refuse(client, 'bad-request', 'frames are JSON text')
      return
    }
    if (!client.bucket.take()) {
      const { rate } = this.#settings
      this.#refuse(client, 'rate-limited', `slow down: at most ${rate} messages a second`, refOf(data))
      return
    }
    const parsed = parseClientFrame(data)
    if (!parsed.ok) {
      this.#refuse(client, parsed.code, parsed.message, refOf(data))
      return
    }
    const frame = parsed.value
    if (frame.type === 'join') this.#join(client, frame.name, frame.key)
    else void this.#say(client, frame.text, frame.ref)
  }

  #join(client: Client, name: string, key: string): void {
    if (client.name !== null) {
      this.#refuse(client, 'bad-request', 'already joined')
      return
    }
    client.name = name
    client.key = key
    const { rate, burst } = this.#settings
    this.#push(client, {
      type: 'welcome',
      you: { name },
      node: this.#cluster.id,
      members: this.#members(),
      limits: { name: MAX_NAME, text: MAX_TEXT, rate, burst },
      history: this.#history.list(),
      online: this.#people(),
    })
    const entry: Entry = {
      id: randomUUID(),
      kind: 'join',
      name,
      time: this.#stamp(),
      node: this.#cluster.id,
      client: client.id,
    }
    void this.#broadcast(entry)
  }

  async #say(client: Client, text: string, ref: number): Promise<void> {
    if (client.name === null || client.key === null) {
      this.#refuse(client, 'not-joined', 'connect with a name first', ref)
      return
    }
    const id = messageId(client.key, ref)
    // a resend after a reconnect: it is in the history already, so the cluster has it
    if (!this.#history.has(id)) {
      const entry: Entry = {
        id,
        kind: 'message',
        name: client.name,
        text,
        time: this.#stamp(),
        node: this.#cluster.id,
      }
      if (!(await this.#broadcast(entry))) {
        this.#refuse(client, 'unavailable', 'the cluster did not take the message; send it again', ref)
        return
      }
    }
    this.#push(client, { type: 'ack', ref, id })
  }

  #disconnect(client: Client): void {
    this.#clients.delete(client)
    if (client.name !== null && !this.#closing) {
      void this.#announceLeave(client.id, client.name, this.#cluster.id, 'left')
    }
  }

  /** Sends an entry to every node; false when the bus refused it. */
  async #broadcast(entry: Entry): Promise<boolean> {
    try {
      await this.#cluster.send({ to: 'all' }, ENTRY_CHANNEL, entry)
      return true
    } catch (err) {
      this.#log.warn('chat entry not sent', { kind: entry.kind, error: (err as Error).message })
      return false
    }
  }

  #announceLeave(client: string, name: string, node: string, reason: 'left' | 'node gone'): Promise<boolean> {
    return this.#broadcast({
      id: randomUUID(),
      kind: 'leave',
      name,
      time: this.#stamp(),
      node,
      client,
      reason,
    })
  }

  /** An entry the bus delivered (from any node, this one too). */
  #deliver(data: unknown): void {
    if (!isEntry(data)) {
      this.#log.warn('malformed chat entry dropped')
      return
    }
    if (!this.#track(data)) return
    if (!this.#history.add(data)) return
    this.#pushAll({ type: 'entry', entry: data })
    if (data.kind !== 'message') this.#pushAll({ type: 'online', online: this.#people() })
  }

  /** Keeps the online list; false for a leave of someone already gone (their node's and the coordinator's both came). */
  #track(entry: Entry): boolean {
    if (entry.kind === 'join')
      this.#online.set(entry.client, { client: entry.client, name: entry.name, node: entry.node })
    if (entry.kind === 'leave') return this.#online.delete(entry.client)
    return true
  }

  /** A server time for a new entry: now, or just after the last one when the clock stood still or went back. */
  #stamp(): number {
    this.#lastStamp = Math.max(Date.now(), this.#lastStamp + 1)
    return this.#lastStamp
  }

  /**
   * Another node's room: the coordinator's on joining (state transfer), or a
   * member's from the other side after a merge (pulled).
   */
  #receive(state: unknown, how: 'state transfer' | 'merge'): void {
    const { history, online } = (state ?? {}) as { history?: unknown; online?: unknown }
    const entries = Array.isArray(history) ? history.filter(isEntry) : []
    const fresh = this.#history.merge(entries)
    if (Array.isArray(online)) {
      // this node's own pages are known best here; the others' from the state
      for (const person of online.filter(isPerson)) {
        if (person.node !== this.#cluster.id) this.#online.set(person.client, person)
      }
    }
    this.#log.info('chat history received', { how, entries: entries.length, fresh: fresh.length })
    if (fresh.length > 0) this.#pushAll({ type: 'history', history: fresh })
    this.#pushAll({ type: 'online', online: this.#people() })
  }

  #viewChanged(change: ViewChange): void {
    this.#pushAll({ type: 'members', members: this.#members() })
    // What each side said while apart is in its nodes' histories: every node pulls the
    // other side's, so every page ends with every entry (the bus reports it lost, a gap).
    for (const member of change.others) void this.#pullFrom(member.id)
    const gone = new Set(change.left.map((m) => m.id))
    for (const person of [...this.#online.values()]) {
      if (!gone.has(person.node)) continue
      // the coordinator speaks for pages whose node died: one leave each, in its order
      if (this.#cluster.isCoordinator())
        void this.#announceLeave(person.client, person.name, person.node, 'node gone')
    }
  }

  /** Pulls a member's room after a merge; tries again while it stays in the view. */
  async #pullFrom(id: string): Promise<void> {
    for (let attempt = 1; attempt <= PULL_TRIES && !this.#closing; attempt++) {
      try {
        const state = await this.#cluster.fetchState('room', id)
        if (!this.#closing) this.#receive(state, 'merge')
        return
      } catch (err) {
        const stillHere = this.#cluster.view.members.some((m) => m.id === id)
        this.#log.warn('chat history pull after a merge failed', {
          from: id,
          attempt,
          error: (err as Error).message,
          ...(stillHere && attempt < PULL_TRIES ? { retryInMs: PULL_RETRY_MS } : {}),
        })
        if (!stillHere) return
        await new Promise<void>((resolve) => this.#ctx.setTimeout(resolve, PULL_RETRY_MS))
      }
    }
  }

  #members() {
    const { view } = this.#cluster
    return view.members.map((m) => ({
      id: m.id,
      role: m.role,
      http: m.http,
      coordinator: m.id === view.coordinator,
    }))
  }

  #people(): Person[] {
    return [...this.#online.values()].sort((a, b) => a.name.localeCompare(b.name))
  }

  #refuse(client: Client, code: string, message: string, ref?: number): void {
    this.#push(client, { type: 'error', code, message, ...(ref === undefined ? {} : { ref }) })
    if (++client.strikes > MAX_STRIKES) client.socket.close(1008, 'too many refused frames')
  }

  #pushAll(frame: Record<string, unknown>): void {
    for (const client of this.#clients) if (client.name !== null) this.#push(client, frame)
  }

  #push(client: Client, frame: Record<string, unknown>): void {
    if (client.socket.bufferedAmount > MAX_BUFFERED_BYTES) {
      client.socket.close(1013, 'too far behind; reconnect')
      return
    }
    client.socket.send(JSON.stringify(frame))
  }
}
