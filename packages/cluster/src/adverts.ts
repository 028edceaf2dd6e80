import { isStreamPath, type StreamAdvert, type StreamSource } from '@meshcast/interface'

/** The member-data key stream adverts ride under. */
export const ADVERTS_KEY = 'streams'

/** Most adverts one node may carry; more is a broken or hostile peer. */
export const MAX_ADVERTS = 1000

/** Longest relay chain an advert may name. */
export const MAX_VIA = 16

/** Longest entry of a `via` chain (a peer id, or a foreign origin's `rtmp://host:port`). */
export const MAX_VIA_ID = 128
/** Longest owner tag (the auth package makes 22 characters: base64url of 128 bits). */
export const MAX_OWNER = 64
const OWNER = /^[A-Za-z0-9_-]+$/

/** The largest picture side an advert may name (16K is 15360). */
export const MAX_PIXELS = 65535

const SOURCES: readonly StreamSource[] = ['publish', 'relay', 'edge']

export type ParsedAdverts = { ok: true; adverts: StreamAdvert[] } | { ok: false; problem: string }

/**
 * Checks what a member's heartbeat says about its streams (wire data, not
 * trusted). Pure; never throws. A node with no `streams` entry has none.
 */
export function parseAdverts(value: unknown): ParsedAdverts {
  if (value === undefined) return { ok: true, adverts: [] }
  if (!Array.isArray(value)) return { ok: false, problem: 'streams is not a list' }
  if (value.length > MAX_ADVERTS) return { ok: false, problem: `${value.length} adverts > ${MAX_ADVERTS}` }
  const adverts: StreamAdvert[] = []
  for (const [i, item] of value.entries()) {
    const problem = advertProblem(item)
    if (problem !== null) return { ok: false, problem: `advert ${i}: ${problem}` }
    const a = item as StreamAdvert
    adverts.push({
      path: a.path,
      source: a.source,
      rtmpUrl: a.rtmpUrl,
      video: a.video,
      audio: a.audio,
      // a node of an earlier version sends no size: unknown
      width: a.width ?? null,
      height: a.height ?? null,
      since: a.since,
      subscribers: a.subscribers,
      // a node of an earlier version sends none: its stream still plays, at an unknown rate
      kbps: a.kbps ?? 0,
      // a node of an earlier version knows no owners: as published without credentials
      owner: a.owner ?? null,
      via: [...a.via],
    })
  }
  return { ok: true, adverts }
}

function advertProblem(v: unknown): string | null {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'not an object'
  const a = v as Record<string, unknown>
  if (typeof a.path !== 'string' || !isStreamPath(a.path)) return `bad path ${JSON.stringify(a.path)}`
  if (!SOURCES.includes(a.source as StreamSource)) return `bad source ${JSON.stringify(a.source)}`
  if (typeof a.rtmpUrl !== 'string' || !/^rtmp:\/\/[^\s/]+\/\S+$/.test(a.rtmpUrl) || a.rtmpUrl.length > 600)
    return `bad rtmpUrl ${JSON.stringify(a.rtmpUrl)}`
  for (const k of ['video', 'audio'] as const)
    if (a[k] !== null && (typeof a[k] !== 'string' || (a[k] as string).length > 32)) return `bad ${k}`
  for (const k of ['width', 'height'] as const)
    if (
      a[k] !== undefined &&
      a[k] !== null &&
      !(Number.isSafeInteger(a[k]) && (a[k] as number) > 0 && (a[k] as number) <= MAX_PIXELS)
    )
      return `bad ${k}`
  if (!Number.isSafeInteger(a.since) || (a.since as number) < 0) return 'bad since'
  if (!Number.isSafeInteger(a.subscribers) || (a.subscribers as number) < 0) return 'bad subscribers'
  if (a.kbps !== undefined && (typeof a.kbps !== 'number' || !Number.isFinite(a.kbps) || a.kbps < 0))
    return 'bad kbps'
  if (
    a.owner !== undefined &&
    a.owner !== null &&
    !(typeof a.owner === 'string' && a.owner.length <= MAX_OWNER && OWNER.test(a.owner))
  )
    return 'bad owner'
  if (
    !Array.isArray(a.via) ||
    a.via.length > MAX_VIA ||
    !a.via.every((id) => typeof id === 'string' && id.length <= MAX_VIA_ID)
  )
    return 'bad via'
  return null
}
