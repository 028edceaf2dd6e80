import type { AccessRequest, Logger } from '@meshcast/interface'
import { MAX_GROUP } from './owner-tag.ts'

/** The body Red5 Pro's RoundTrip validator posts to the operator's application. */
export interface RoundtripBody {
  type: 'publisher' | 'subscriber'
  username: string
  password: string
  token: string
  streamName: string
  app: string
  clientIp: string
}

/** `group`: the redundancy group the endpoint names for a publisher (`{"result": true, "group": "…"}`), if any. */
export type RoundtripAnswer = { allowed: true; group?: string } | { allowed: false; detail: string }

/** An answer larger than this is not one (the expected body is `{"result": true}`). */
const MOST_ANSWER_BYTES = 64 * 1024

export function roundtripBody(request: AccessRequest): RoundtripBody {
  const c = request.credentials
  return {
    type: request.action === 'publish' ? 'publisher' : 'subscriber',
    username: c.username ?? '',
    password: c.password ?? '',
    token: c.token ?? '',
    streamName: request.name,
    app: request.app,
    clientIp: request.clientIp,
  }
}

/**
 * Red5 Pro's RoundTrip validator: every publish or play is asked of the
 * operator's endpoint (POST, JSON), which answers `{"result": true|false}`.
 * Anything else is a refusal: no answer within the timeout, a non-2xx status,
 * a body that is not that JSON. Refusals are never cached, and nor are
 * allowances (an operator revoking a user expects it to hold at once).
 */
export class RoundtripValidator {
  readonly url: string
  readonly #timeoutMs: number
  readonly #log: Logger

  constructor(url: string, timeoutMs: number, log: Logger) {
    this.url = url
    this.#timeoutMs = timeoutMs
    this.#log = log
  }

  async ask(request: AccessRequest): Promise<RoundtripAnswer> {
    let res: Response
    try {
      res = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(roundtripBody(request)),
        signal: AbortSignal.timeout(this.#timeoutMs),
        redirect: 'error',
      })
    } catch (err) {
      const timedOut = (err as Error).name === 'TimeoutError'
      return {
        allowed: false,
        detail: timedOut
          ? `the validator did not answer within ${this.#timeoutMs} ms`
          : 'the validator cannot be reached',
      }
    }
    if (!res.ok) {
      await res.body?.cancel()
      return { allowed: false, detail: `the validator answered HTTP ${res.status}` }
    }
    const { result, group } = await readResult(res)
    if (result === true) return group === undefined ? { allowed: true } : { allowed: true, group }
    if (result === false) return { allowed: false, detail: 'the validator refused' }
    return { allowed: false, detail: 'the validator answered something other than {"result": true|false}' }
  }

  /** Whether the endpoint answers at all (any HTTP status): a start-time warning when not. */
  async reachable(): Promise<boolean> {
    try {
      const res = await fetch(this.url, { method: 'HEAD', signal: AbortSignal.timeout(this.#timeoutMs) })
      await res.body?.cancel()
      return true
    } catch (err) {
      this.#log.debug('roundtrip validator probe failed', { url: this.url, error: (err as Error).message })
      return false
    }
  }
}

/**
 * `result` of a JSON answer: true, false (Red5 Pro's endpoints also answer
 * "true"/"false"), or undefined; and its `group` when a short plain name
 * (anything else there is not a group, and is ignored).
 */
async function readResult(res: Response): Promise<{ result: boolean | undefined; group?: string }> {
  let text: string
  try {
    text = await res.text()
  } catch {
    return { result: undefined }
  }
  if (text.length > MOST_ANSWER_BYTES) return { result: undefined }
  try {
    const body = JSON.parse(text) as { result?: unknown; group?: unknown }
    const r = body?.result
    const g = body?.group
    const group = typeof g === 'string' && g.length > 0 && g.length <= MAX_GROUP ? { group: g } : {}
    if (r === true || r === 'true') return { result: true, ...group }
    if (r === false || r === 'false') return { result: false }
  } catch {
    // not JSON
  }
  return { result: undefined }
}
