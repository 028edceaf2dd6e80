import { sleep } from '../../lib.ts'
import type { Rig } from '../rig.ts'
import type { ResumeDeployment } from '../system.ts'

/** A restartable origin of a system with no cluster (node-media-server, nginx-rtmp). */
interface PlainOrigin {
  rtmp(path: string): string
  kill(): void
  restart(): Promise<void>
}

/**
 * Resume on a system with no cluster: an origin with the stream and an edge
 * pulling it by a fixed URL; nothing to rejoin once the origin is back.
 */
export async function plainResume(
  rig: Rig,
  path: string,
  origin: PlainOrigin,
  edge: { rtmp(path: string): string },
  evidence: (sinceWall: number) => string[],
): Promise<ResumeDeployment> {
  let pub = await rig.publish(origin.rtmp(path))
  // the edge's pull task connects on its own schedule: let it reach the stream first
  await sleep(1500)
  return {
    origin,
    edge,
    kill: () => {
      origin.kill()
      pub.child.kill('SIGKILL')
    },
    restart: () => origin.restart(),
    rejoined: async () => {},
    waitsForView: false,
    republish: async () => {
      pub = await rig.publish(origin.rtmp(path))
    },
    evidence,
  }
}
