import type { NodeConfig } from '@meshcast/config'
import type { HostPort, Logger } from '@meshcast/interface'
import type { MediaServer } from '@meshcast/media'
import type { Mesh } from '@meshcast/mesh'
import { type ClusterRoutes, clusteredRoutes, standaloneRoutes } from './http/routes.ts'
import type { Phase } from './lifecycle.ts'
import type { MetricsSources } from './metrics.ts'
import type { MediaPlane } from './plane/media-plane.ts'

/**
 * A node's cluster, as the daemon uses it: the mesh and the media plane on
 * a clustered node; on a standalone one (`nodeType` off) a null object with
 * nothing to join, drain or count, so the daemon never asks which it is (as
 * `SoloCluster` does for the applications).
 */
export interface ClusterSide {
  /** joining the mesh, then the media plane (adverts, pulls); none when standalone */
  readonly phases: readonly Phase[]
  readonly routes: ClusterRoutes
  /** the mesh's listener, for `/api/status`; null when there is none */
  readonly listener: HostPort | null
  /** the metrics of the mesh and of the pulls, each null where there is none */
  readonly metrics: Pick<MetricsSources, 'mesh' | 'pulls'>
  /** the mesh's state, for `/readyz`; null when there is no mesh */
  state(): string | null
  /** `/api/status`'s `mesh` */
  status(): object | null
  /** what the `ready` log line says of the cluster */
  readyFields(): Record<string, string>
  /**
   * The cluster's part of a drain: adverts withdrawn and the member marked
   * draining, then a wait, at most `timeoutMs`, until no member pulls from
   * this node. Returns at once when there is no joined mesh.
   */
  drain(timeoutMs: number, log: Logger): Promise<void>
}

/** The cluster of a clustered node. */
export function clusteredSide(config: NodeConfig, mesh: Mesh, plane: MediaPlane): ClusterSide {
  const edge = plane.pulls.controller
  return {
    phases: [
      { name: 'mesh', up: ['mesh'], start: () => mesh.start(), stop: () => mesh.stop() },
      { name: 'media plane', start: () => plane.start(), stop: () => plane.stop() },
    ],
    routes: clusteredRoutes(mesh, plane),
    listener: config.mesh,
    metrics: {
      mesh: { counters: () => mesh.counters(), members: () => mesh.view.members.length },
      pulls:
        edge === null
          ? null
          : {
              counters: () => edge.counters(),
              active: () => edge.pulls().filter((p) => p.upstream !== null).length,
            },
    },
    state: () => mesh.state,
    status: () => mesh.status(),
    readyFields: () => ({ mesh: mesh.address, view: mesh.view.id }),
    drain: async (timeoutMs, log) => {
      if (mesh.state !== 'joined') return
      log.info('draining: adverts withdrawn, waiting for the nodes pulling from this one', { timeoutMs })
      plane.drain()
      const result = await plane.drained(timeoutMs)
      if (result.drained) log.info('drained: no node pulls from this one', { ms: result.ms })
      else log.warn('drain timed out; leaving anyway', { ms: result.ms, stillPulling: result.waiting })
    },
  }
}

/** A standalone node's cluster: itself alone. */
export function standaloneSide(id: string, media: Pick<MediaServer, 'streams'>): ClusterSide {
  return {
    phases: [],
    routes: standaloneRoutes(id, media),
    listener: null,
    metrics: { mesh: null, pulls: null },
    state: () => null,
    status: () => null,
    readyFields: () => ({}),
    drain: async () => undefined,
  }
}
