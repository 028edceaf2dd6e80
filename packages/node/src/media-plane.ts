import {
  ADVERTS_KEY,
  awaitDrain,
  DRAINING_KEY,
  type DrainResult,
  EdgeController,
  fitsVia,
  isForeignId,
  memberIndex,
  normaliseStreamParam,
  type OriginEntry,
  type RelayPort,
  RoundRobin,
  RTMPS_KEY,
  rtmpsPort,
  rtmpsUrl,
  StreamBook,
} from '@meshcast/cluster'
import type { NodeConfig } from '@meshcast/config'
import {
  formatAddress,
  formatHost,
  type HostPort,
  isEdgeRole,
  isWildcard,
  type Logger,
  type Member,
  type StreamAdvert,
} from '@meshcast/interface'
import { audioCodecName, type MediaServer, videoCodecName } from '@meshcast/media'
import { isName, type LookupAll, lookupAll, type Mesh, parseHostPort } from '@meshcast/mesh'
import type { Express, Request, Response } from 'express'
import { announced } from './addresses.ts'
import { BitrateMeter } from './bitrate.ts'
import { durations } from './durations.ts'
import { meshListens } from './mesh-probe.ts'

/** How long an advert change waits for others close behind it (publish + play of one client). */
const ADVERT_DEBOUNCE_MS = 20
/** ms between checks of what events do not announce: codecs known later, subscriber counts. */
const ADVERT_REFRESH_MS = 500

export interface MediaPlaneParts {
  config: NodeConfig
  id: string
  media: MediaServer
  mesh: Mesh
  /** the media server's relays (edges and relays); null on an origin */
  relays: RelayPort | null
  logger: Logger
  /** resolves the DNS names among `origins` (default: the system resolver, every A and AAAA record) */
  lookup?: LookupAll
}

/**
 * The node's share of the media plane: tells the cluster what it has
 * (adverts on its heartbeats), keeps the book of what everyone has, runs
 * the edge controller on edges and relays, and answers `/api/streams` and
 * `/cluster`.
 */
export class MediaPlane {
  readonly book: StreamBook
  readonly edge: EdgeController | null
  readonly #p: MediaPlaneParts
  readonly #log: Logger
  readonly #rr = new RoundRobin()
  readonly #bitrates = new BitrateMeter()
  readonly #unhook: (() => void)[] = []
  /** shutting down: nothing is advertised, and the member record says so */
  #draining = false
  #advertTimer: ReturnType<typeof setTimeout> | null = null
  #refresh: ReturnType<typeof setInterval> | null = null
  /** re-probes the origins no member stands behind, every retryDuration */
  #probe: ReturnType<typeof setInterval> | null = null
  #stopped = false
  /** the last adverts put on the heartbeat, as JSON */
  #said = ''
  /** per DNS name among `origins`: the addresses it resolved to last (kept while a lookup fails) */
  readonly #originAddresses = new Map<string, readonly string[]>()

  constructor(parts: MediaPlaneParts) {
    this.#p = parts
    this.#log = parts.logger.child({ component: 'media-plane' })
    this.book = new StreamBook(this.#log)
    // on the member record from the first heartbeat: the members pulling from this one may use TLS
    const rtmps = parts.config.tls.rtmps
    if (rtmps !== null) parts.mesh.setData(RTMPS_KEY, rtmps.port)
    const { cluster, role } = parts.config
    const times = durations(parts.config)
    this.edge =
      parts.relays === null || !isEdgeRole(role)
        ? null
        : new EdgeController(
            {
              selfId: parts.id,
              origins: cluster.origins.map((o) => ({ host: o.host, port: o.port })),
              streamOnDemand: cluster.streamOnDemand,
              lingerMs: times.lingerMs,
              waitMs: times.waitMs,
              retryMs: times.retryMs,
              kickOnUnpublish: cluster.kickOnUnpublish,
              urlOf: (c) => this.#pullUrl(c.member, c.advert.rtmpUrl),
              ownerHoldMs: parts.config.auth.ownerHoldMs,
            },
            this.book,
            parts.relays,
            this.#log,
          )
  }

  /** Hooks the mesh and the media server; call once the mesh has joined. */
  start(): void {
    const { mesh, media } = this.#p
    // a member with a wildcard publicIp is booked at the address this node reaches it at, so
    // an origins entry (a DNS name's records) stands for it and its adverts rank in its place
    const onMember = (m: Member) => {
      if (m.id !== this.#p.id) this.book.member(this.#reachable(m, undefined))
    }
    const onView = () => {
      const ids = new Set(mesh.view.members.map((m) => m.id))
      this.book.retain(ids)
      for (const m of mesh.view.members)
        if (m.id !== this.#p.id) this.book.member(this.#reachable(m, undefined))
      // a new member may stand behind an origin's DNS name now
      if (this.edge !== null) void this.#resolveOrigins()
      media.trustAddresses(memberAddresses(mesh.view.members))
    }
    this.#unhook.push(mesh.events.on('member', onMember), mesh.events.on('view', onView))
    onView()
    const changed = () => this.#advertSoon()
    const played = (s: { path: string; publisher: boolean }) => {
      if (!s.publisher) this.edge?.played(s.path)
      changed()
    }
    const stopped = (s: { path: string; publisher: boolean }) => {
      if (!s.publisher) this.edge?.stopped(s.path)
      changed()
    }
    this.#unhook.push(
      media.events.on('publish', changed),
      media.events.on('unpublish', changed),
      media.events.on('play', played),
      media.events.on('stop', stopped),
    )
    if (this.edge !== null) {
      this.#unhook.push(this.edge.events.on('change', changed))
      this.edge.start()
      // after the join: the mesh has dialled every origin once, so a meshcast one is in the view by now
      void this.#probeOrigins()
      this.#probe = setInterval(() => void this.#probeOrigins(), durations(this.#p.config).retryMs)
    }
    this.#advert()
    this.#refresh = setInterval(() => this.#advert(), ADVERT_REFRESH_MS)
  }

  stop(): void {
    this.#stopped = true
    if (this.#refresh !== null) clearInterval(this.#refresh)
    this.#refresh = null
    if (this.#probe !== null) clearInterval(this.#probe)
    this.#probe = null
    for (const unhook of this.#unhook.splice(0)) unhook()
    if (this.#advertTimer !== null) clearTimeout(this.#advertTimer)
    this.#advertTimer = null
    this.edge?.stop()
  }

  /**
   * The node shuts down: withdraws every advert at once (edges switch to
   * another upstream) and marks the member draining (no node routes
   * clients to it any more), in one heartbeat sent now.
   */
  drain(): void {
    if (this.#draining) return
    this.#draining = true
    this.#p.mesh.setData(DRAINING_KEY, true)
    this.#advert()
  }

  /** Waits, at most `timeoutMs`, until no member pulls a stream straight from this node. */
  drained(timeoutMs: number): Promise<DrainResult> {
    return awaitDrain(this.book, this.#p.id, timeoutMs)
  }

  routes(app: Express): void {
    app.get('/api/streams', (_req, res) => {
      res.json({ streams: this.#streams() })
    })
    app.get('/cluster', (req, res) => this.#cluster(req, res))
  }

  /** This node's adverts: what is published here, and what it pulls (nothing once draining). */
  localAdverts(): StreamAdvert[] {
    if (this.#draining) return []
    const { media, config } = this.#p
    const pulls = new Map((this.edge?.pulls() ?? []).map((p) => [p.path, p]))
    const out: StreamAdvert[] = []
    for (const s of media.streams()) {
      const pull = pulls.get(s.path)
      // A publisher that left is held "reconnecting" by the media server: not an upstream any more.
      const published = !s.pulled && s.publisher !== null && s.state === 'live'
      if (!published && (pull?.upstream == null || s.state !== 'live')) continue
      out.push({
        path: s.path,
        source: published ? 'publish' : config.role === 'relay' ? 'relay' : 'edge',
        rtmpUrl: `rtmp://${this.#host()}:${config.cluster.publicPort}${s.path}`,
        video: videoCodecName(s.videoCodec),
        audio: audioCodecName(s.audioCodec),
        width: s.width > 0 ? s.width : null,
        height: s.height > 0 ? s.height : null,
        since: published ? (s.publisher?.startedAt ?? Date.now()) : (pull?.since ?? Date.now()),
        subscribers: s.subscribers,
        kbps: this.#bitrates.kbps(s.path),
        // a relay's (or an edge's) copy is its upstream's owner's: edges behind it keep to that owner too
        owner: published ? (s.publisher?.owner ?? null) : (pull?.upstream?.owner ?? null),
        // a foreign origin ends the chain as rtmp://host:port (left out if its host name is too long)
        via: pull?.upstream == null ? [] : [pull.upstream.node, ...pull.upstream.via].filter(fitsVia),
      })
    }
    return out
  }

  /**
   * Tells the edge controller which `origins` entries are foreign: no
   * member of the view has the address, and nothing listens at its mesh
   * port (a meshcast node of another cluster does listen: it is not
   * pulled from). A member behind an address always wins (see EdgeController).
   */
  async #probeOrigins(): Promise<void> {
    const { config, mesh, id } = this.#p
    const entries = await this.#resolveOrigins()
    const others = mesh.view.members.filter((m) => m.id !== id).map((m) => this.#reachable(m, undefined))
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
      this.edge?.setForeign(
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
    if (names.length > 0 && !this.#stopped) this.edge?.setOriginAddresses(this.#originAddresses)
    return origins.map((o) => {
      const addresses = this.#originAddresses.get(o.host)
      return addresses === undefined
        ? { host: o.host, port: o.port }
        : { host: o.host, port: o.port, addresses }
    })
  }

  /** The host others reach this node's RTMP at (`addresses.ts`), as a URL writes it. */
  #host(): string {
    return formatHost(announced(this.#p.config).rtmpHost)
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

  #advertSoon(): void {
    if (this.#advertTimer !== null) return
    this.#advertTimer = setTimeout(() => {
      this.#advertTimer = null
      this.#advert()
    }, ADVERT_DEBOUNCE_MS)
  }

  #advert(): void {
    const { mesh, media, id } = this.#p
    this.#bitrates.sample(media.traffic())
    const adverts = this.localAdverts()
    const json = JSON.stringify(adverts)
    const streams = media.streams()
    mesh.setLoad({
      subscribers: streams.reduce((n, s) => n + s.subscribers, 0),
      streams: streams.length,
    })
    if (json === this.#said) return
    this.#said = json
    mesh.setData(ADVERTS_KEY, adverts)
    const self = mesh.view.members.find((m) => m.id === id)
    if (self !== undefined) this.book.set(self, adverts)
  }

  #streams() {
    const members = new Map(this.#p.mesh.view.members.map((m) => [m.id, m]))
    return this.book.paths().map((path) => {
      const carriers = this.book.carriers(path)
      /** where a carrier pulls from: a member (and its URL), or a foreign origin; null when published there */
      const upstream = (via: readonly string[]) => {
        const first = via[0]
        if (first === undefined) return null
        if (isForeignId(first)) return { foreign: true, node: null, rtmpUrl: `${first}${path}` }
        const rtmpUrl = carriers.find((c) => c.member.id === first)?.advert.rtmpUrl ?? null
        return { foreign: false, node: first, rtmpUrl }
      }
      const roots = new Set(carriers.map((c) => c.advert.via.at(-1)).filter((v) => v !== undefined))
      return {
        path,
        publishedOn: carriers
          .filter((c) => c.advert.source === 'publish')
          .map((c) => ({
            node: c.member.id,
            rtmpUrl: c.advert.rtmpUrl,
            since: c.advert.since,
            owner: c.advert.owner,
          })),
        // the origins outside the mesh that feed the stream (it is published on none of its members)
        foreignOrigins: [...roots].filter(isForeignId).map((id) => ({ rtmpUrl: `${id}${path}` })),
        carriers: carriers.map((c) => ({
          node: c.member.id,
          role: members.get(c.member.id)?.role ?? c.member.role,
          source: c.advert.source,
          rtmpUrl: c.advert.rtmpUrl,
          video: c.advert.video,
          audio: c.advert.audio,
          width: c.advert.width,
          height: c.advert.height,
          since: c.advert.since,
          subscribers: c.advert.subscribers,
          kbps: c.advert.kbps,
          owner: c.advert.owner,
          via: c.advert.via,
          upstream: upstream(c.advert.via),
        })),
        subscribers: carriers.reduce((n, c) => n + c.advert.subscribers, 0),
      }
    })
  }

  #cluster(req: Request, res: Response): void {
    const stream = req.query.stream
    // `stream[]=a`, `stream[__proto__][x]=1`: a malformed stream parameter, not a request without one
    const malformed = Object.keys(req.query).some((k) => k !== 'stream' && k.startsWith('stream'))
    if (malformed || (stream !== undefined && typeof stream !== 'string')) {
      res.status(400).type('text/plain').send('stream must be given once, as app/name')
      return
    }
    if (stream !== undefined && normaliseStreamParam(stream) === null) {
      res
        .status(400)
        .type('text/plain')
        .send(
          `bad stream ${JSON.stringify(stream.slice(0, 300))}: expected app/name (letters, digits, _ and -)`,
        )
      return
    }
    // the records as last heard (load, draining), not the copies the view was installed with
    const members = this.#p.mesh.members().map((m) => this.#reachable(m, req.socket.localAddress))
    const result = this.#rr.next(members, this.book, stream)
    const json = req.accepts(['text/plain', 'application/json']) === 'application/json'
    if (!result.ok) {
      res.status(result.status)
      if (json) res.json({ error: result.message })
      else res.type('text/plain').send(result.message)
      return
    }
    const { host, port } = result.route
    if (json) res.json(result.route)
    else res.type('text/plain').send(formatAddress({ host, port }))
  }

  /** A member whose publicIp is a wildcard, with the address this node reaches it at instead. */
  #reachable(m: Member, asked: string | undefined): Member {
    if (!isWildcard(m.publicIp)) return m
    const host = m.id === this.#p.id ? this.#selfHost(asked) : this.#p.mesh.peerHost(m.id)
    return host === null ? m : { ...m, publicIp: host }
  }

  /**
   * Where a client reaches this node: its configured host, else (every
   * setting a wildcard, zero-config) the address the request came in on.
   */
  #selfHost(asked: string | undefined): string | null {
    const host = announced(this.#p.config).rtmpHost
    if (!isWildcard(host)) return host
    if (asked === undefined || asked === '') return null
    // an IPv4 client on a dual-stack socket shows as ::ffff:a.b.c.d
    return asked.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '')
  }
}

/** Where members connect from, as far as their records say: their mesh host and their public RTMP host. */
function memberAddresses(members: readonly Member[]): string[] {
  const hosts = members.flatMap((m) => [parseHostPort(m.mesh)?.host ?? '', m.publicIp])
  return hosts.filter((h) => h !== '' && !isWildcard(h))
}
