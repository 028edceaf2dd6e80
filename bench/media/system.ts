// A streaming system under the benchmark (meshcast, node-media-server,
// nginx-rtmp), as the phases see it: for each phase it deploys an origin (or
// two) and edges into a rig, publishes, and waits until the edges can serve.
// The phases do the measuring, the same way for every system; the rig tears
// everything down.
import type { Clip } from './clip.ts'
import type { Rig } from './rig.ts'

export type SystemName = 'meshcast' | 'node-media-server' | 'nginx-rtmp'
export type Proto = 'RTMP' | 'HTTP-FLV'

/** One server process and the URLs of a stream path on it. */
export interface Server {
  readonly name: string
  readonly host: string
  /** the process whose CPU and memory are the server's */
  pid(): number
  rtmp(path: string): string
  /** null: no HTTP-FLV */
  flv(path: string): string | null
}

/** How one system deploys for one phase. */
export interface Setup<D, O = void> {
  /** what `deploy` starts, for the progress line */
  readonly layout: string
  /** starts the servers into `rig`, publishes `path` and resolves once the edges can serve it */
  deploy(rig: Rig, path: string, options: O): Promise<D>
}

/** TTFF: an origin, a warm edge pulling the stream, a cold edge that has to start its pull. */
export interface TtffDeployment {
  readonly origin: Server
  /** the phase keeps a player on it (an edge keeps its pull while someone watches) */
  readonly warm: Server
  /** how this edge differs from other systems' */
  readonly warmNote: string
  readonly cold: ColdEdge
}

export interface ColdEdge {
  readonly server: Server
  readonly note: string
  /** a few words of the note for the table */
  readonly tag: string
  /** what it is probed over */
  readonly protos: readonly Proto[]
  /** resolves once it holds no pull any more (before each probe) */
  idle(): Promise<void>
  /** right after a probe started (node-media-server: the relay task is added as the player connects) */
  begin?(): void
  after?(): Promise<void>
}

/** Failover: two origins with the stream, an edge pulling it from one. */
export interface FailoverDeployment {
  readonly edge: Server
  /** the origin the edge pulls from; throws when that is not one of the two */
  serving(): Promise<{ readonly name: string; kill(): void }>
  /** resolves `ms` after `killedAt` (performance.now()), watching the edge meanwhile */
  watch(killedAt: number, ms: number): Promise<void>
  /** after the watch: whether the edge pulls from the other origin, and what it logged since `sinceWall` (Date.now()) */
  outcome(sinceWall: number): Promise<{ switched: boolean; evidence: string[] }>
}

/** Resume: one origin with the stream and an edge pulling it; the origin dies and comes back. */
export interface ResumeDeployment {
  readonly origin: { rtmp(path: string): string }
  readonly edge: { rtmp(path: string): string }
  /** SIGKILL the origin and its publisher */
  kill(): void
  /** start the origin again; resolves when it accepts RTMP */
  restart(): Promise<void>
  /** resolves when a republish can reach the edge (meshcast, not eager: one view again) */
  rejoined(): Promise<void>
  /** `rejoined` waits for the view */
  readonly waitsForView: boolean
  /** publish the stream at the origin again */
  republish(): Promise<void>
  evidence(sinceWall: number): string[]
}

/** Load: one origin and an edge, nothing published until `publish`. */
export interface LoadDeployment {
  readonly pids: { edge: number; origin: number }
  /** publishes and waits until the edge relays the stream; says where the players play */
  publish(): Promise<{ playersOn: 'edge' | 'origin'; playUrl: string; note: string }>
}

/** Relay: an origin and an edge, nothing published until `publish`. */
export interface RelayDeployment {
  readonly pids: { edge: number; origin: number }
  /** publishes the paths (each a replay of `clip`) and waits until the edge relays every one, with no player */
  publish(clip: Clip): Promise<{ note: string }>
}

export interface System {
  readonly name: SystemName
  /** why it cannot run on this machine, or null */
  missing(): string | null
  readonly ttff: Setup<TtffDeployment, { coldLingerS: number }>
  /** or why the system has no failover to measure */
  readonly failover: Setup<FailoverDeployment> | { readonly skipped: string }
  /** `eager`: republish as soon as the restarted origin accepts RTMP (the others have no cluster to rejoin) */
  readonly resume: Setup<ResumeDeployment, { eager: boolean }>
  /** the stream is published by the deployment's `publish`, not by `deploy` */
  readonly load: Setup<LoadDeployment>
  /** `paths`: the streams the edge is to relay (or why the system has no such relay to compare) */
  readonly relay: Setup<RelayDeployment, { paths: readonly string[] }> | { readonly skipped: string }
}
