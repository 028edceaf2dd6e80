import {
  EdgeController,
  memberIndex,
  type OriginEntry,
  type PullInfo,
  type RelayPort,
  rtmpsPort,
  rtmpsUrl,
  type StreamBook,
} from '@meshcast/cluster'
import type { NodeConfig } from '@meshcast/config'
import { formatHost, type HostPort, type Logger, type Member } from '@meshcast/interface'
import { isName, type LookupAll, lookupAll, type Mesh } from '@meshcast/mesh'
import { durations } from '../durations.ts'
import { meshListens } from '../mesh-probe.ts'
import type { Reachable } from './reachable.ts'

/**
 * What a node pulls: on an edge or a relay, the edge controller and what it
 * is told of the `origins` entries (their DNS names' addresses, which are
 * foreign); on an origin, `NO_PULLS`.
 */
export interface PullSide {
  /** the edge controller, for the metrics; null on an origin */
  readonly controller: EdgeController | null
  /** hooks `changed` to what the pulls carry, then starts; call once the mesh has joined */
  start(changed: () => void): void
  stop(): void
  /** a player came or left (the controller pulls on demand) */
  played(path: string): void
  stopped(path: string): void
  /** the view changed: a new member may stand behind an origin's DNS name */
  viewChanged(): void
  pulls(): readonly PullInfo[]
}

/** An origin's: it pulls nothing. */
export const NO_PULLS: PullSide = {
  controller: null,
  start: () => undefined,
  stop: () => undefined,
  played: () => undefined,
  stopped: () => undefined,
  viewChanged: () => undefined,
  pulls: () => [],
}

export interface EdgePullParts {
  config: NodeConfig
  id: string
  mesh: Mesh
  book: StreamBook
  relays: RelayPort
  reachable: Reachable
  logger: Logger
  /** resolves the DNS names among `origins` (default: the system resolver, every A and AAAA record) */
  lookup?: LookupAll
}

/** An edge's or a relay's pulls. */
export class EdgePulls implements PullSide {
  readonly controller: EdgeController
  readonly #p: EdgePullParts
  readonly #log: Logger
  /** per DNS name among `origins`: the addresses it resolved to last (kept while a lookup fails) */
  readonly #originAddresses = new Map<string, readonly string[]>()
  /** re-probes the origins no member stands behind, every retryDuration */
  #probe: ReturnType<typeof setInterval> | null = null
  #unhook: (() => void) | null = null
  #stopped = false

  constructor(parts: EdgePullParts) {
    this.#p = parts
    this.#log = parts.logger
    const { cluster, auth } = parts.config
    const times = durations(parts.config)
    this.controller = new EdgeController(
      {
        selfId: parts.id,
        origins: cluster.origins.map((o) => ({ host: o.host, port: o.port })),
        streamOnDemand: cluster.streamOnDemand,
        lingerMs: times.lingerMs,
        waitMs: times.waitMs,
        retryMs: times.retryMs,
        kickOnUnpublish: cluster.kickOnUnpublish,
        urlOf: (c) => this.#pullUrl(c.member, c.advert.rtmpUrl),
        ownerHoldMs: auth.ownerHoldMs,
      },
      parts.book,
      parts.relays,
      this.#log,
    )
  }

  start(changed: () => void): void {
    this.#unhook = this.controller.events.on('change', changed)
    this.controller.start()
    // after the join: the mesh has dialled every origin once, so a meshcast one is in the view by now
    void this.#probeOrigins()
    this.#probe = setInterval(() => void this.#probeOrigins(), durations(this.#p.config).retryMs)
  }

  stop(): void {
    this.#stopped = true
    if (this.#probe !== null) clearInterval(this.#probe)
    this.#probe = null
    this.#unhook?.()
    this.#unhook = null
    this.controller.stop()
  }

  played(path: string): void {
    this.controller.played(path)
  }

  stopped(path: string): void {
    this.controller.stopped(path)
  }

  viewChanged(): void {
    void this.#resolveOrigins()
  }

  pulls(): readonly PullInfo[] {
    return this.controller.pulls()
  }

  /**
   * Tells the edge controller which `origins` entries are foreign: no
   * member of the view has the address, and nothing listens at its mesh
   * port (a meshcast node of another cluster does listen: it is not
   * pulled from). A member behind an address always wins (see EdgeController).
   */
  async #probeOrigins(): Promise<void> {
    const { config, mesh, id, reachable } = this.#p
    const entries = await this.#resolveOrigins()
    const others = mesh.view.members.filter((m) => m.id !== id).map((m) => reachable.member(m))
    // a DNS name not resolved yet (or to nothing) is unknown, not foreign: its records may be
    // members still starting (a swarm's tasks.<service>, a headless Service)
    const unmatched = entries.filter(
      (o) =>
        !others.some((m) => memberIndex(m, [o]) === 0) &&
        (!isName(o.host) || (o.addresses !== undefined && o.addresses.length > 0)),
    )
    // a name is foreign when nothing listens for the mesh at any of its addresses
    const anyListens = async (o: OriginEntry) =>
      (await Promise.all((o.addresses ?? [o.host]).map((h) => meshListens(h, config.mesh.port)))).some(
        Boolean,
      )
    const listening = await Promise.all(unmatched.map(anyListens))
    if (!this.#stopped)
      this.controller.setForeign(
        unmatched.filter((_, i) => !listening[i]).map((o): HostPort => ({ host: o.host, port: o.port })),
      )
  }

  /**
   * Looks up the DNS names among `origins` (every retryDuration, with the
   * probe, and on each view change) and tells the edge controller, so an
   * entry names every member its records point to. The addresses a name had
   * stay while its lookup fails. Returns the entries with their addresses.
   */
  async #resolveOrigins(): Promise<OriginEntry[]> {
    const origins = this.#p.config.cluster.origins
    const names = [...new Set(origins.map((o) => o.host).filter(isName))]
    const lookup = this.#p.lookup ?? lookupAll
    await Promise.all(
      names.map(async (name) => {
        try {
          const addresses = await lookup(name)
          const before = this.#originAddresses.get(name)
          this.#originAddresses.set(name, addresses)
          if (before?.join() !== addresses.join())
            this.#log.info(`origin ${name} resolves to ${addresses.join(', ') || 'nothing'}`, {
              origin: name,
              addresses,
            })
        } catch (err) {
          this.#log.debug('origin name lookup failed', { origin: name, error: (err as Error).message })
        }
      }),
    )
    if (names.length > 0 && !this.#stopped) this.controller.setOriginAddresses(this.#originAddresses)
    return origins.map((o) => {
      const addresses = this.#originAddresses.get(o.host)
      return addresses === undefined
        ? { host: o.host, port: o.port }
        : { host: o.host, port: o.port, addresses }
    })
  }

  /**
   * An advert's URL, its wildcard host replaced by where this node reaches
   * that member; over RTMPS when the member offers it (`tls.upstream`).
   */
  #pullUrl(member: Member, url: string): string {
    const m = /^rtmp:\/\/(0\.0\.0\.0|\[::\])(:\d+\/.*)$/.exec(url)
    const host = m === null ? null : this.#p.mesh.peerHost(member.id)
    const plain = m === null || host === null ? url : `rtmp://${formatHost(host)}${m[2]}`
    const port = this.#p.config.tls.upstream ? rtmpsPort(member) : null
    return port === null ? plain : (rtmpsUrl(plain, port) ?? plain)
  }
}
