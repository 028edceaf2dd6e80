// The benchmark's HTTP-FLV player: time to the first video keyframe tag.
// packages/testing's FlvTagReader cannot tell an AVC sequence header from a
// keyframe (both are frame type 1) and playHttpFlvTags copies every tag with
// a Date.now() stamp; this one parses with node-media-server's FLV parser,
// which classifies tags as the RTMP probe's RtmpClient does.

import { TAG_VIDEO } from '../../packages/interface/src/flv.ts'
import { KEYFRAME, VIDEO_HEADER } from '../../packages/media/src/flv/flv-kinds.ts'
import { type AVPacket, Flv } from '../../packages/media/src/nms/nms.ts'
import { errorText, round } from '../lib.ts'

export interface FlvProbeResult {
  /** request → first video keyframe tag; null: none */
  ms: number | null
  /** request → response headers */
  headersMs: number | null
  /** the AVC sequence header came before that keyframe */
  decodable: boolean
  error?: string
}

/** HTTP-FLV: ms from before the request to the first video keyframe tag. */
export async function flvProbe(url: string, timeoutMs: number): Promise<FlvProbeResult> {
  const t0 = performance.now()
  const ac = new AbortController()
  const timer = setTimeout(() => ac.abort(), timeoutMs)
  const out: FlvProbeResult = { ms: null, headersMs: null, decodable: false }
  try {
    const res = await fetch(url, { signal: ac.signal, headers: { 'cache-control': 'no-cache' } })
    out.headersMs = round(performance.now() - t0, 1)
    if (!res.ok || res.body === null) throw new Error(`HTTP ${res.status}`)
    const reader = res.body.getReader()
    const parser = new Flv()
    let sequenceHeader = false
    parser.onPacketCallback = (p: AVPacket) => {
      if (p.codec_type !== TAG_VIDEO || out.ms !== null) return
      if (p.flags === VIDEO_HEADER) sequenceHeader = true
      else if (p.flags === KEYFRAME) {
        out.ms = round(performance.now() - t0, 1)
        out.decodable = sequenceHeader
      }
    }
    for (;;) {
      const { value, done } = await reader.read()
      if (done) throw new Error('the response ended before a keyframe')
      const error = parser.parserData(Buffer.from(value.buffer, value.byteOffset, value.byteLength))
      if (out.ms !== null) return out
      if (error !== null) throw new Error(`not FLV: ${error}`)
    }
  } catch (err) {
    out.error = ac.signal.aborted ? `no keyframe within ${timeoutMs} ms` : errorText(err)
  } finally {
    clearTimeout(timer)
    ac.abort()
  }
  return out
}
