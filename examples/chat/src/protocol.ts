/**
 * chatr's wire formats, as pure functions: what a page may send (checked
 * field by field: never trust a client), and what the room keeps and sends.
 */

/** Longest name and message, in characters. */
export const MAX_NAME = 32
export const MAX_TEXT = 500
/** Largest WebSocket frame a page may send: a message at its longest, escaped, with room to spare. */
export const MAX_FRAME_BYTES = 8 * 1024
/** A page's secret key: it makes message ids that a resend repeats and no one else can forge. */
const KEY = /^[A-Za-z0-9_-]{16,64}$/

/** One line of the room's history. */
export type Entry = MessageEntry | PresenceEntry

export interface MessageEntry {
  id: string
  kind: 'message'
  name: string
  text: string
  /** server time, ms since the epoch, stamped by the node the sender is connected to */
  time: number
  /** the node the sender is connected to */
  node: string
}

export interface PresenceEntry {
  id: string
  kind: 'join' | 'leave'
  name: string
  time: number
  node: string
  /** the connection this person joined on */
  client: string
  /** a leave: the person left, or their node went away */
  reason?: 'left' | 'node gone'
}

/** Someone online, and the node they are connected to. */
export interface Person {
  client: string
  name: string
  node: string
}

/** What a page sends. */
export type ClientFrame =
  | { type: 'join'; name: string; key: string }
  | { type: 'send'; text: string; ref: number }

export type Parsed<T> =
  | { ok: true; value: T }
  | { ok: false; code: 'bad-request' | 'too-long' | 'empty'; message: string }

function bad(message: string): Parsed<never> {
  return { ok: false, code: 'bad-request', message }
}

/** Characters, not UTF-16 units: an emoji is one. */
function length(text: string): number {
  return [...text].length
}

/** One line of plain text: controls (newlines too) become spaces, runs of spaces one. */
function oneLine(text: string): string {
  return text
    .replace(/[\p{Cc}\u2028\u2029]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim()
}

export function cleanName(raw: string): Parsed<string> {
  const name = oneLine(raw)
  if (name === '') return { ok: false, code: 'empty', message: 'enter a name' }
  if (length(name) > MAX_NAME)
    return { ok: false, code: 'too-long', message: `names are at most ${MAX_NAME} characters` }
  return { ok: true, value: name }
}

export function cleanText(raw: string): Parsed<string> {
  const text = oneLine(raw)
  if (text === '') return { ok: false, code: 'empty', message: 'the message is empty' }
  if (length(text) > MAX_TEXT) {
    return { ok: false, code: 'too-long', message: `messages are at most ${MAX_TEXT} characters` }
  }
  return { ok: true, value: text }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Reads one frame from a page; anything malformed is refused with a reason, never thrown. */
export function parseClientFrame(text: string): Parsed<ClientFrame> {
  let frame: unknown
  try {
    frame = JSON.parse(text)
  } catch {
    return bad('frames are JSON objects')
  }
  if (!isObject(frame)) return bad('frames are JSON objects')
  if (frame.type === 'join') {
    if (typeof frame.name !== 'string') return bad('join needs a name')
    if (typeof frame.key !== 'string' || !KEY.test(frame.key))
      return bad('join needs a key of 16 to 64 letters')
    const name = cleanName(frame.name)
    return name.ok ? { ok: true, value: { type: 'join', name: name.value, key: frame.key } } : name
  }
  if (frame.type === 'send') {
    if (typeof frame.text !== 'string') return bad('send needs a text')
    if (!Number.isSafeInteger(frame.ref) || (frame.ref as number) < 1)
      return bad('send needs a ref, a whole number from 1')
    const text = cleanText(frame.text)
    return text.ok ? { ok: true, value: { type: 'send', text: text.value, ref: frame.ref as number } } : text
  }
  return bad('unknown frame type: use join or send')
}

/** The ref of a frame, if it has one we can read, so an error can name the message it refuses. */
export function refOf(text: string): number | undefined {
  try {
    const ref = (JSON.parse(text) as { ref?: unknown }).ref
    return Number.isSafeInteger(ref) ? (ref as number) : undefined
  } catch {
    return undefined
  }
}

function isString(value: unknown, max = 256): value is string {
  return typeof value === 'string' && value.length <= max
}

/** Checks an entry from the bus or from state transfer (another node's, so only lightly trusted). */
export function isEntry(value: unknown): value is Entry {
  if (!isObject(value)) return false
  const { id, kind, name, time, node } = value
  if (!isString(id, 64) || !isString(name, 4 * MAX_NAME) || !Number.isFinite(time) || !isString(node))
    return false
  if (kind === 'message') return isString(value.text, 4 * MAX_TEXT)
  if (kind === 'join') return isString(value.client, 64)
  if (kind === 'leave')
    return isString(value.client, 64) && (value.reason === 'left' || value.reason === 'node gone')
  return false
}

export function isPerson(value: unknown): value is Person {
  return (
    isObject(value) &&
    isString(value.client, 64) &&
    isString(value.name, 4 * MAX_NAME) &&
    isString(value.node)
  )
}
