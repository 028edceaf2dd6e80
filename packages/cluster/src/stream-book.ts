import type { Logger, Member, StreamAdvert } from '@meshcast/interface'
import { SafeEmitter } from '@meshcast/interface'
import { ADVERTS_KEY, parseAdverts } from './adverts.ts'

/** One node's advert for a stream, with the member record it came with. */
export interface Carrier {
  member: Member
  advert: StreamAdvert
}

export interface StreamBookEvents {
  /** `path` gained an upstream (a publish or a relay) on `node` */
  upstream: { path: string; node: string }
  /** `node` no longer offers `path` as an upstream */
  withdrawn: { path: string; node: string }
  /** what `node` has was replaced, or it left (after `upstream` and `withdrawn`) */
  change: { node: string }
}

/** Whether an advert makes its node an upstream others may pull from. */
export function isUpstream(advert: StreamAdvert): boolean {
  return advert.source === 'publish' || advert.source === 'relay'
}

/**
 * Every stream in the cluster and who has it, from the members' heartbeats
 * (and this node's own adverts). A member that leaves the view takes its
 * adverts with it. Bad adverts are dropped with a log line and counted.
 */
export class StreamBook {
  readonly events: SafeEmitter<StreamBookEvents>
  readonly #log: Logger
  /** node id → its member record and adverts by path */
  readonly #nodes = new Map<string, { member: Member; adverts: Map<string, StreamAdvert> }>()
  /** adverts refused, by reason */
  rejected = 0

  constructor(logger: Logger) {
    this.#log = logger
    this.events = new SafeEmitter((err, event) =>
      this.#log.error('stream book listener failed', { event, error: (err as Error).message }),
    )
  }

  /** A member's heartbeat data changed: takes its `streams` entry as the whole truth about it. */
  member(member: Member): void {
    const parsed = parseAdverts(member.data[ADVERTS_KEY])
    if (!parsed.ok) {
      this.rejected++
      this.#log.warn('ignoring stream adverts from member', { peer: member.id, problem: parsed.problem })
      return
    }
    this.set(member, parsed.adverts)
  }

  /** Replaces what `member` has (this node's own adverts come in here too). */
  set(member: Member, adverts: readonly StreamAdvert[]): void {
    const before = this.#nodes.get(member.id)?.adverts ?? new Map<string, StreamAdvert>()
    const after = new Map(adverts.map((a) => [a.path, a]))
    this.#nodes.set(member.id, { member, adverts: after })
    for (const [path, a] of before)
      if (isUpstream(a) && !(after.has(path) && isUpstream(after.get(path) as StreamAdvert)))
        this.events.emit('withdrawn', { path, node: member.id })
    for (const [path, a] of after)
      if (isUpstream(a) && !(before.has(path) && isUpstream(before.get(path) as StreamAdvert)))
        this.events.emit('upstream', { path, node: member.id })
    this.events.emit('change', { node: member.id })
  }

  /** A member left the view. */
  remove(id: string): void {
    const entry = this.#nodes.get(id)
    if (entry === undefined) return
    this.#nodes.delete(id)
    for (const [path, a] of entry.adverts)
      if (isUpstream(a)) this.events.emit('withdrawn', { path, node: id })
    this.events.emit('change', { node: id })
  }

  /** Keeps only these members (the view), dropping the rest. */
  retain(ids: ReadonlySet<string>): void {
    for (const id of [...this.#nodes.keys()]) if (!ids.has(id)) this.remove(id)
  }

  /** Every node that has `path`, in any way. */
  carriers(path: string): Carrier[] {
    const out: Carrier[] = []
    for (const { member, adverts } of this.#nodes.values()) {
      const advert = adverts.get(path)
      if (advert !== undefined) out.push({ member, advert })
    }
    return out
  }

  /** Nodes one may pull `path` from. */
  upstreams(path: string): Carrier[] {
    return this.carriers(path).filter((c) => isUpstream(c.advert))
  }

  /** Every member the book knows (each in the view, with adverts or none). */
  members(): Member[] {
    return [...this.#nodes.values()].map((n) => n.member)
  }

  /** Every path some node has. */
  paths(): string[] {
    const paths = new Set<string>()
    for (const { adverts } of this.#nodes.values()) for (const path of adverts.keys()) paths.add(path)
    return [...paths].sort()
  }
}
