import { FrameError } from './checks.ts'
import type { DirectFrame, TopicFrame } from './frames.ts'
import { directFrame, topicFrame } from './validate.ts'

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

/** Why a frame was dropped; also the counter it is counted under. */
export type DropReason = 'oversize' | 'malformed' | 'invalid'

export type Decoded<F> = { ok: true; frame: F } | { ok: false; reason: DropReason; detail: string }

export function encodeFrame(frame: TopicFrame | DirectFrame): Uint8Array {
  return encoder.encode(JSON.stringify(frame))
}

function decode<F>(bytes: Uint8Array, maxBytes: number, check: (v: unknown) => F): Decoded<F> {
  if (bytes.byteLength > maxBytes)
    return { ok: false, reason: 'oversize', detail: `${bytes.byteLength} bytes > limit ${maxBytes}` }
  let value: unknown
  try {
    value = JSON.parse(decoder.decode(bytes))
  } catch (err) {
    return { ok: false, reason: 'malformed', detail: (err as Error).message.slice(0, 200) }
  }
  try {
    return { ok: true, frame: check(value) }
  } catch (err) {
    if (err instanceof FrameError) return { ok: false, reason: 'invalid', detail: err.message }
    throw err
  }
}

/** Decodes and validates a gossiped frame. Pure: never throws on bad bytes. */
export function decodeTopicFrame(bytes: Uint8Array, maxBytes: number): Decoded<TopicFrame> {
  return decode(bytes, maxBytes, topicFrame)
}

/** Decodes and validates a frame from a direct stream. Pure: never throws on bad bytes. */
export function decodeDirectFrame(bytes: Uint8Array, maxBytes: number): Decoded<DirectFrame> {
  return decode(bytes, maxBytes, directFrame)
}

/** A bus frame from envelopes already serialised one by one (each message is stringified once). */
export function encodeBusFrame(from: string, envelopes: readonly string[]): Uint8Array {
  return encoder.encode(`{"v":1,"k":"bus","from":${JSON.stringify(from)},"msgs":[${envelopes.join(',')}]}`)
}

/** A retransmission answer from serialised envelopes. */
export function encodeRetransmitFrame(from: string, low: number, envelopes: readonly string[]): Uint8Array {
  return encoder.encode(
    `{"v":1,"k":"rtx","from":${JSON.stringify(from)},"low":${low},"msgs":[${envelopes.join(',')}]}`,
  )
}

/** UTF-8 length of a string without encoding it twice. */
export function utf8Length(text: string): number {
  return Buffer.byteLength(text, 'utf8')
}
