import {
  ADVERTS_KEY,
  awaitDrain,
  DRAINING_KEY,
  type DrainResult,
  fitsVia,
  type RelayPort,
  RTMPS_KEY,
  StreamBook,
} from '@meshcast/cluster'
import type { NodeConfig } from '@meshcast/config'
import { formatHost, isEdgeRole, type Logger, type Member, type StreamAdvert } from '@meshcast/interface'
import { audioCodecName, type MediaServer, videoCodecName } from '@meshcast/media'
import type { LookupAll, Mesh } from '@meshcast/mesh'
import type { Express } from 'express'
import { announced } from '../addresses.ts'
import { BitrateMeter } from '../bitrate.ts'
import { EdgePulls, NO_PULLS, type PullSide } from './pull-side.ts'
import { memberAddresses, Reachable } from './reachable.ts'
import { StreamRoutes } from './stream-routes.ts'

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
  /** what this node pulls: `NO_PULLS` on an origin */
  readonly pulls: PullSide
  readonly #p: MediaPlaneParts
  readonly #log: Logger
  readonly #bitrates = new BitrateMeter()
  readonly #reachable: Reachable
  readonly #routes: StreamRoutes
  readonly #unhook: (() => void)[] = []
  /** shutting down: nothing is advertised, and the member record says so */
  #draining = false
  #advertTimer: ReturnType<typeof setTimeout> | null = null
  #refresh: ReturnType<typeof setInterval> | null = null
  /** the last adverts put on the heartbeat, as JSON */
  #said = ''

  constructor(parts: MediaPlaneParts) {
    this.#p = parts
    this.#log = parts.logger.child({ component: 'media-plane' })
    this.book = new StreamBook(this.#log)
    // on the member record from the first heartbeat: the members pulling from this one may use TLS
    const rtmps = parts.config.tls.rtmps
    if (rtmps !== null) parts.mesh.setData(RTMPS_KEY, rtmps.port)
    this.#reachable = new Reachable(parts.config, parts.id, (id) => parts.mesh.peerHost(id))
    this.#routes = new StreamRoutes(parts.mesh, this.book, this.#reachable)
    const { relays } = parts
    this.pulls =
      relays === null || !isEdgeRole(parts.config.role)
        ? NO_PULLS
        : new EdgePulls({ ...parts, relays, book: this.book, reachable: this.#reachable, logger: this.#log })
  }

  /** Hooks the mesh and the media server; call once the mesh has joined. */
  start(): void {
    const { mesh, media } = this.#p
    // a member with a wildcard publicIp is booked at the address this node reaches it at, so
    // an origins entry (a DNS name's records) stands for it and its adverts rank in its place
    const onMember = (m: Member) => {
      if (m.id !== this.#p.id) this.book.member(this.#reachable.member(m))
    }
    const onView = () => {
      const ids = new Set(mesh.view.members.map((m) => m.id))
      this.book.retain(ids)
      for (const m of mesh.view.members) if (m.id !== this.#p.id) this.book.member(this.#reachable.member(m))
      this.pulls.viewChanged()
      media.trustAddresses(memberAddresses(mesh.view.members))
    }
    this.#unhook.push(mesh.events.on('member', onMember), mesh.events.on('view', onView))
    onView()
    const changed = () => this.#advertSoon()
    const played = (s: { path: string; publisher: boolean }) => {
      if (!s.publisher) this.pulls.played(s.path)
      changed()
    }
    const stopped = (s: { path: string; publisher: boolean }) => {
      if (!s.publisher) this.pulls.stopped(s.path)
      changed()
    }
    this.#unhook.push(
      media.events.on('publish', changed),
      media.events.on('unpublish', changed),
      media.events.on('play', played),
      media.events.on('stop', stopped),
    )
    this.pulls.start(changed)
    this.#advert()
    this.#refresh = setInterval(() => this.#advert(), ADVERT_REFRESH_MS)
  }

  stop(): void {
    if (this.#refresh !== null) clearInterval(this.#refresh)
    this.#refresh = null
    for (const unhook of this.#unhook.splice(0)) unhook()
    if (this.#advertTimer !== null) clearTimeout(this.#advertTimer)
    this.#advertTimer = null
    this.pulls.stop()
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

  /** `/api/streams` and `/cluster` */
  routes(app: Express): void {
    this.#routes.mount(app)
  }

  /** This node's adverts: what is published here, and what it pulls (nothing once draining). */
  localAdverts(): StreamAdvert[] {
    if (this.#draining) return []
    const { media, config } = this.#p
    const pulls = new Map(this.pulls.pulls().map((p) => [p.path, p]))
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

  /** The host others reach this node's RTMP at (`addresses.ts`), as a URL writes it. */
  #host(): string {
    return formatHost(announced(this.#p.config).rtmpHost)
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
}
