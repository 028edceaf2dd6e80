import { isBusName } from '@meshcast/interface'

/**
 * Small checks for decoded JSON. Each throws a `FrameError` naming the
 * field, so the decoder can drop a frame with one precise log line.
 */
export class FrameError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'FrameError'
  }
}

export type Obj = Record<string, unknown>

const ID = /^[A-Za-z0-9]{8,128}$/

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

export function obj(v: unknown, field: string): Obj {
  if (!isObj(v)) throw new FrameError(`${field} must be an object`)
  return v
}

export function str(v: unknown, field: string, max = 512): string {
  if (typeof v !== 'string' || v.length > max)
    throw new FrameError(`${field} must be a string of at most ${max} chars`)
  return v
}

export function id(v: unknown, field: string): string {
  if (typeof v !== 'string' || !ID.test(v)) throw new FrameError(`${field} must be a node id`)
  return v
}

export function name(v: unknown, field: string): string {
  if (typeof v !== 'string' || !isBusName(v))
    throw new FrameError(`${field} must be a name of [A-Za-z0-9_.:/-], 1-128 chars`)
  return v
}

export function int(v: unknown, field: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    throw new FrameError(`${field} must be an integer in ${min}..${max}`)
  return v
}

export function num(v: unknown, field: string, min = 0): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min)
    throw new FrameError(`${field} must be a number >= ${min}`)
  return v
}

export function bool(v: unknown, field: string): boolean {
  if (typeof v !== 'boolean') throw new FrameError(`${field} must be true or false`)
  return v
}

export function arr(v: unknown, field: string, max: number): unknown[] {
  if (!Array.isArray(v) || v.length > max)
    throw new FrameError(`${field} must be an array of at most ${max} items`)
  return v
}

/** An object mapping node ids to sequence numbers. */
export function seqMap(v: unknown, field: string, maxEntries: number): Record<string, number> {
  const o = obj(v, field)
  const keys = Object.keys(o)
  if (keys.length > maxEntries) throw new FrameError(`${field} has more than ${maxEntries} entries`)
  const out: Record<string, number> = {}
  for (const k of keys) out[id(k, `${field} key`)] = int(o[k], `${field}.${k}`)
  return out
}
