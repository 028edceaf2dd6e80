import { NODE_TYPES, type NodeType } from '@meshcast/interface'
import { InvalidValueError } from './problems/invalid-value-error.ts'

/** Lowest TCP port a listener or origin can use (0 would mean "any port"). */
export const MIN_PORT = 1
/** Highest TCP port. */
export const MAX_PORT = 65535

/** A TCP port: a whole number from 1 to 65535. */
export function parsePort(text: string): number {
  const trimmed = text.trim()
  const port = /^\d+$/.test(trimmed) ? Number(trimmed) : Number.NaN
  if (!(port >= MIN_PORT && port <= MAX_PORT)) {
    throw new InvalidValueError(`is not a valid port: use a whole number from ${MIN_PORT} to ${MAX_PORT}`)
  }
  return port
}

/** A port, or 0: the listener is off. */
export function parsePortOrOff(text: string): number {
  return text === '0' ? 0 : parsePort(text)
}

/** A whole number from 0 to `most` (a count or a number of ms; 0 usually means "no limit"). */
export function parseWhole(text: string, most: number, unit: string): number {
  const trimmed = text.trim()
  const value = /^\d+$/.test(trimmed) ? Number(trimmed) : Number.NaN
  if (!(value >= 0 && value <= most))
    throw new InvalidValueError(`is not a number of ${unit}: use a whole number from 0 to ${most}`)
  return value
}

/** A positive number of seconds (decimals allowed), at most a day; `zero` allows 0 too. */
export function parseSeconds(text: string, opts: { zero?: boolean } = {}): number {
  const value = Number(text.trim())
  const low = opts.zero === true ? value < 0 : value <= 0
  if (text.trim() === '' || !Number.isFinite(value) || low || value > 86_400)
    throw new InvalidValueError(
      `is not a number of seconds: use a number ${opts.zero === true ? 'from 0 to 86400' : 'above 0 and at most 86400'} (e.g. 10 or 2.5)`,
    )
  return value
}

/** `true` or `false`, any case, as Spring reads booleans. */
export function parseBoolean(text: string): boolean {
  const lower = text.trim().toLowerCase()
  if (lower === 'true') return true
  if (lower === 'false') return false
  throw new InvalidValueError('is not a boolean: use true or false')
}

/** The mesh's timing set (`mesh.profile`): `lan` or `wan`, any case. */
export function parseMeshProfile(text: string): 'lan' | 'wan' {
  const lower = text.trim().toLowerCase()
  if (lower === 'lan' || lower === 'wan') return lower
  throw new InvalidValueError(
    'is not a mesh profile: use lan (members on one network) or wan (across regions)',
  )
}

/** Seconds, greater than 0; decimals allowed. */
export function parseRetryDuration(text: string): number {
  const trimmed = text.trim()
  const seconds = /^(\d+(\.\d*)?|\.\d+)$/.test(trimmed) ? Number(trimmed) : Number.NaN
  if (!(seconds > 0 && Number.isFinite(seconds))) {
    throw new InvalidValueError(
      'is not a valid retry duration: use a number of seconds greater than 0, e.g. 30 or 2.5',
    )
  }
  return seconds
}

function isNodeType(text: string): text is NodeType {
  return (NODE_TYPES as readonly string[]).includes(text)
}

/** One of NODE_TYPES, any case. */
export function parseNodeType(text: string): NodeType {
  const lower = text.trim().toLowerCase()
  if (isNodeType(lower)) return lower
  throw new InvalidValueError(`is not a node type: use one of ${NODE_TYPES.join(', ')}`)
}

/**
 * The shared cluster password, surrounding whitespace removed. Capitals are
 * refused because Red5 Pro refuses them, and because every node must derive
 * the same cluster key from the same text. `suggest` names the lowercase
 * form in the problem; off for one from a variable or a secret file, whose
 * text must not reach the logs.
 */
export function parsePassword(text: string, suggest = true): string {
  const password = text.trim()
  if (password === '') {
    throw new InvalidValueError(
      'is empty: set the shared cluster password (lowercase), the same on every node',
    )
  }
  if (password !== password.toLowerCase()) {
    throw new InvalidValueError(
      'has capital letters: Red5 Pro rejects them (edges fail to authenticate), and meshcast ' +
        'derives the cluster key from the password, so it must be the same lowercase text on every node' +
        (suggest ? `; use "${password.toLowerCase()}" everywhere` : ''),
    )
  }
  return password
}

/** Shortest admin token accepted: 16 characters (`openssl rand -hex 16` gives 32). */
export const MIN_ADMIN_TOKEN = 16

/** An admin token: at least 16 printable characters, no spaces (it travels in an Authorization header). */
export function parseAdminToken(text: string): string {
  const token = text.trim()
  if (!/^[\x21-\x7e]+$/.test(token))
    throw new InvalidValueError(
      'is not a token: use printable characters without spaces (e.g. openssl rand -hex 16)',
    )
  if (token.length < MIN_ADMIN_TOKEN)
    throw new InvalidValueError(
      `is shorter than ${MIN_ADMIN_TOKEN} characters: a guessable token protects nothing (e.g. openssl rand -hex 16)`,
    )
  return token
}
