import type { AppHost } from '@meshcast/apps'
import { type DashboardFeed, dashboardRouter } from '@meshcast/dashboard'
import type { Logger } from '@meshcast/interface'
import type { MediaServer } from '@meshcast/media'
import type { Mesh } from '@meshcast/mesh'
import type { Express, Request } from 'express'
import type { Registry } from 'prom-client'
import type { MediaPlane } from '../plane/media-plane.ts'
import { type LoopWatch, probeRoutes, type Readiness } from '../probes.ts'
import { type AdminGuard, isAdminPath } from './admin-guard.ts'
import type { HttpRefusals } from './server.ts'

/**
 * What a node's routes say about its cluster: the mesh and the media plane
 * on a clustered node, this node alone on a standalone one (a null object,
 * as `SoloCluster` is for the apps), so no route asks which it is.
 */
export interface ClusterRoutes {
  /** `GET /api/members` */
  members(): unknown
  /** `GET /api/view` */
  view(): unknown
  /** the media plane's routes: `/api/streams`, `/cluster` */
  mount(app: Express): void
}

/** The cluster as the mesh and the media plane show it. */
export function clusteredRoutes(mesh: Mesh, plane: MediaPlane): ClusterRoutes {
  return {
    members: () => ({ viewId: mesh.view.id, members: mesh.members() }),
    view: () => {
      const { id, counter, coordinator, members } = mesh.view
      return { id, counter, coordinator, members: members.map((m) => m.id) }
    },
    mount: (app) => plane.routes(app),
  }
}

/** A standalone node (`nodeType` off): no members but itself, its own streams, nowhere to route. */
export function standaloneRoutes(id: string, media: Pick<MediaServer, 'streams'>): ClusterRoutes {
  return {
    members: () => ({ standalone: true, members: [] }),
    view: () => ({ standalone: true, id: null, coordinator: null, members: [id] }),
    mount: (app) => {
      app.get('/api/streams', (_req, res) => {
        res.json({
          standalone: true,
          streams: media.streams().map((s) => ({ path: s.path, subscribers: s.subscribers })),
        })
      })
      app.get('/cluster', (_req, res) => {
        res
          .status(503)
          .type('text/plain')
          .send('this node is standalone (nodeType off): there is no cluster to route to')
      })
    },
  }
}

/** What the node's HTTP routes read. */
export interface RouteSources {
  /** with an admin listener (admin.port): whether a request came in through it; null without one */
  viaAdmin: ((req: Request) => boolean) | null
  admin: AdminGuard
  refusals: HttpRefusals
  media: Pick<MediaServer, 'flvRequest'>
  /** `/api/status` in full (for the admin), of which anyone may see `ready` and `draining` */
  status: () => { ready: boolean; draining: boolean }
  loop: LoopWatch
  readiness: () => Readiness
  metrics: Registry
  dashboard: DashboardFeed
  cluster: ClusterRoutes
  apps: AppHost
  log: Logger
}

/** Every route of a node, in the order they must be tried. */
export function nodeRoutes(app: Express, n: RouteSources): void {
  const viaAdmin = n.viaAdmin
  // with an admin listener, the control plane is there only: the public ports do not even ask for the token
  if (viaAdmin !== null)
    app.use((req, res, next) => {
      if (viaAdmin(req) || !isAdminPath(req.path)) return next()
      res
        .status(404)
        .type('text/plain')
        .send('not here: this node serves its control plane on its admin listener (admin.port)\n')
    })
  // HTTP-FLV playback (`/app/name.flv`) before everything else: the media server answers or passes.
  app.use((req, res, next) => {
    if (!n.media.flvRequest(req, res)) next()
  })
  // the control plane (dashboard, /metrics, /api/* but /api/status) asks for http.admin.token when set
  app.use(
    n.admin.middleware((req) =>
      n.refusals.event(
        'admin-auth',
        `${req.method} ${req.path} without the admin token`,
        req.socket.remoteAddress,
      ),
    ),
  )
  app.get('/api/status', (req, res) => {
    const status = n.status()
    // open to probes; without the token it says only whether the node is ready
    res.json(n.admin.allowed(req) ? status : { ready: status.ready, draining: status.draining })
  })
  probeRoutes(app, n.loop, n.readiness)
  app.get('/metrics', async (_req, res) => {
    res.type(n.metrics.contentType).send(await n.metrics.metrics())
  })
  app.use(dashboardRouter(n.dashboard, n.log.child({ component: 'dashboard' })))
  app.get('/api/members', (_req, res) => {
    res.json(n.cluster.members())
  })
  n.cluster.mount(app)
  app.get('/api/apps', (_req, res) => {
    res.json({ apps: n.apps.list() })
  })
  app.get('/api/view', (_req, res) => {
    res.json(n.cluster.view())
  })
  app.use(n.apps.router)
}
