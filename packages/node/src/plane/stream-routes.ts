import { isForeignId, normaliseStreamParam, RoundRobin, type StreamBook } from '@meshcast/cluster'
import { formatAddress } from '@meshcast/interface'
import type { Mesh } from '@meshcast/mesh'
import type { Express, Request, Response } from 'express'
import type { Reachable } from './reachable.ts'

/**
 * The media plane's HTTP side: `/api/streams` (every stream of the cluster
 * and who carries it) and `/cluster` (Red5 Pro's "which node do I use": the
 * next member in round-robin order that fits, for a stream or for any).
 */
export class StreamRoutes {
  readonly #mesh: Mesh
  readonly #book: StreamBook
  readonly #reachable: Reachable
  readonly #rr = new RoundRobin()

  constructor(mesh: Mesh, book: StreamBook, reachable: Reachable) {
    this.#mesh = mesh
    this.#book = book
    this.#reachable = reachable
  }

  mount(app: Express): void {
    app.get('/api/streams', (_req, res) => {
      res.json({ streams: this.#streams() })
    })
    app.get('/cluster', (req, res) => this.#cluster(req, res))
  }

  #streams() {
    const members = new Map(this.#mesh.view.members.map((m) => [m.id, m]))
    return this.#book.paths().map((path) => {
      const carriers = this.#book.carriers(path)
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
    const members = this.#mesh.members().map((m) => this.#reachable.member(m, req.socket.localAddress))
    const result = this.#rr.next(members, this.#book, stream)
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
}
