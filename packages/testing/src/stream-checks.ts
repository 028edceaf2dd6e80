import assert from 'node:assert/strict'
import type { FrameInfo } from './ffmpeg-clients.ts'
import type { NodeProcess } from './node-process.ts'

/** One carrier of a stream in `GET /api/streams`, the fields tests read. */
export interface StreamCarrier {
  node: string
  source: string
  via: string[]
  subscribers: number
}

export interface StreamsBody {
  streams: { path: string; carriers: StreamCarrier[] }[]
}

/** `GET /api/streams` of `node`. */
export async function streamsOf(node: NodeProcess): Promise<StreamsBody> {
  return (await (await node.httpGet('/api/streams')).json()) as StreamsBody
}

/** The node's own carrier entry for `path` (its pull, or the publish), or undefined. */
export async function carrierOn(node: NodeProcess, path: string): Promise<StreamCarrier | undefined> {
  const id = (await node.status()).id
  return (await streamsOf(node)).streams.find((s) => s.path === path)?.carriers.find((c) => c.node === id)
}

/** The longest pause between two frames arriving at a player (ms). */
export function longestGap(frames: readonly FrameInfo[]): number {
  return frames.slice(1).reduce((gap, f, i) => Math.max(gap, f.at - (frames[i] as FrameInfo).at), 0)
}

/** Asserts that frames' presentation times never go back and never repeat. */
export function assertMonotonic(frames: readonly FrameInfo[]): void {
  for (let i = 1; i < frames.length; i++) {
    const [a, b] = [frames[i - 1] as FrameInfo, frames[i] as FrameInfo]
    assert.ok(b.pts > a.pts, `frame ${i}: pts ${b.pts} after ${a.pts}`)
  }
}
