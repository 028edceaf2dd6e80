import { join } from 'node:path'
import { confPath } from '../conf-path.ts'
import { parseOriginAddress } from '../parse-address.ts'
import { parseBoolean, parseSeconds, parseWhole } from '../parse-values.ts'
import { InvalidValueError } from '../problems/invalid-value-error.ts'
import type { ProblemList, ProblemPlace } from '../problems/problem-list.ts'
import type { AuthSettings, AuthValidator, OriginCredentials, PublishGroupSettings } from '../types.ts'

/** Red5 Pro's Simple Authentication plugin keys, by the names its users know. */
export const AUTH_KEYS = [
  'auth.publish',
  'auth.play',
  'auth.validator',
  'auth.credentials',
  'auth.roundtrip.url',
  'auth.roundtrip.timeout',
  'auth.owner_hold',
] as const

/** `auth.group.<name>=user1,user2`: a redundancy group (its users' publishes of one name are one stream). */
const GROUP_KEY = /^auth\.group\.([A-Za-z0-9_-]{1,64})$/
/** Longest user name a group may list (as the credentials file allows). */
const MOST_USER = 256

/**
 * `auth.origin.<name>.<field>`: credentials this node's pulls send one origin,
 * named by the operator (`address` says which; a `:` in a key would end it in
 * Java properties).
 */
const ORIGIN_KEY = /^auth\.origin\.([A-Za-z0-9_-]{1,64})\.(address|username|password|token)$/
/** Longest credential accepted in a key (the media plane refuses longer ones from clients too). */
const MOST_CREDENTIAL = 1024

/** Red5 Pro's file: `{RED5_HOME}/conf/simple-auth-plugin.credentials`, so in the conf folder. */
export const DEFAULT_CREDENTIALS_FILE = 'simple-auth-plugin.credentials'
/** ms the roundtrip endpoint has to answer before the client is refused. */
export const DEFAULT_ROUNDTRIP_TIMEOUT_MS = 3000
/** s an edge keeps to a stream's owner after its last copy left (as OWNER_HOLD_MS in packages/cluster). */
export const DEFAULT_OWNER_HOLD_S = 30
const VALIDATORS: readonly AuthValidator[] = ['file', 'roundtrip']

/** What the auth keys say, as written; `resolveAuth` checks them together. */
export interface AuthReading {
  publish: boolean
  play: boolean
  validator: AuthValidator
  credentials: string | undefined
  roundtripUrl: string | undefined
  roundtripTimeoutMs: number
  ownerHoldSeconds: number
  /** by the group's name: its users, as written */
  groups: Map<string, { users: string[]; place: ProblemPlace }>
  /** by the entry's name, as written */
  origins: Map<string, OriginEntry>
  /** where each key was written, for problems found by `resolveAuth` */
  places: Map<string, ProblemPlace>
}

export function defaultAuthReading(): AuthReading {
  return {
    publish: false,
    play: false,
    validator: 'file',
    credentials: undefined,
    roundtripUrl: undefined,
    roundtripTimeoutMs: DEFAULT_ROUNDTRIP_TIMEOUT_MS,
    ownerHoldSeconds: DEFAULT_OWNER_HOLD_S,
    groups: new Map(),
    origins: new Map(),
    places: new Map(),
  }
}

export function isAuthKey(key: string): boolean {
  return (AUTH_KEYS as readonly string[]).includes(key) || ORIGIN_KEY.test(key) || GROUP_KEY.test(key)
}

/** Records one auth key; a bad value is a problem and keeps the default. */
export function readAuthKey(
  reading: AuthReading,
  key: string,
  place: ProblemPlace,
  problems: ProblemList,
): void {
  const text = (place.value ?? '').trim()
  reading.places.set(key, place)
  const origin = ORIGIN_KEY.exec(key)
  const group = GROUP_KEY.exec(key)
  if (group !== null) readGroupKey(reading, group[1] ?? '', place, problems)
  else if (origin !== null) readOriginKey(reading, origin[1] ?? '', origin[2] as OriginField, place, problems)
  else if (key === 'auth.publish') reading.publish = problems.check(place, () => parseBoolean(text), false)
  else if (key === 'auth.play') reading.play = problems.check(place, () => parseBoolean(text), false)
  else if (key === 'auth.validator')
    reading.validator = problems.check(place, () => parseValidator(text), reading.validator)
  else if (key === 'auth.credentials') reading.credentials = text === '' ? undefined : text
  else if (key === 'auth.roundtrip.url')
    reading.roundtripUrl = problems.check(place, () => parseEndpoint(text), undefined)
  else if (key === 'auth.roundtrip.timeout')
    reading.roundtripTimeoutMs = problems.check(
      place,
      () => positive(parseWhole(text, 60_000, 'milliseconds')),
      reading.roundtripTimeoutMs,
    )
  else if (key === 'auth.owner_hold')
    reading.ownerHoldSeconds = problems.check(
      place,
      () => parseSeconds(text, { zero: true }),
      reading.ownerHoldSeconds,
    )
}

/** One `auth.group.<name>`: a comma-separated list of user names. */
function readGroupKey(reading: AuthReading, name: string, place: ProblemPlace, problems: ProblemList): void {
  const users = (place.value ?? '')
    .split(',')
    .map((u) => u.trim())
    .filter((u) => u !== '')
  if (users.length === 0) {
    problems.add({ ...place, message: 'names no user: list the publishers of the group, comma-separated' })
    return
  }
  const long = users.find((u) => u.length > MOST_USER)
  if (long !== undefined) {
    problems.add({
      ...place,
      value: undefined,
      message: `lists a user name longer than ${MOST_USER} characters`,
    })
    return
  }
  reading.groups.set(name, { users, place })
}

/** The groups, checked together: a user in two groups would own a stream twice. */
function resolveGroups(reading: AuthReading, problems: ProblemList): PublishGroupSettings[] {
  const seen = new Map<string, string>()
  const out: PublishGroupSettings[] = []
  for (const [name, { users, place }] of reading.groups) {
    const twice = users.find((u) => seen.has(u) && seen.get(u) !== name)
    if (twice !== undefined) {
      problems.add({
        ...place,
        message: `lists ${JSON.stringify(twice)}, already in auth.group.${seen.get(twice)}: a publisher is in one group at most`,
      })
      continue
    }
    for (const u of users) seen.set(u, name)
    out.push({ name, users: [...new Set(users)] })
  }
  return out
}

type OriginField = 'address' | 'username' | 'password' | 'token'

/** One `auth.origin.<name>.*` entry as written; `resolveAuth` checks it. */
interface OriginEntry {
  fields: Partial<Record<OriginField, string>>
  place: ProblemPlace
}

/** One `auth.origin.<name>.<field>`; the value may be a secret: problems never quote it. */
function readOriginKey(
  reading: AuthReading,
  name: string,
  field: OriginField,
  place: ProblemPlace,
  problems: ProblemList,
): void {
  const value = (place.value ?? '').trim()
  const entry = reading.origins.get(name) ?? { fields: {}, place: { ...place, value: undefined } }
  reading.origins.set(name, entry)
  if (value === '' || value.length > MOST_CREDENTIAL)
    problems.add({
      ...place,
      value: undefined,
      message: `is empty or longer than ${MOST_CREDENTIAL} characters`,
    })
  else entry.fields[field] = value
}

/** The checked origin entries: each needs an address and something to send. */
function resolveOrigins(reading: AuthReading, problems: ProblemList): OriginCredentials[] {
  const out: OriginCredentials[] = []
  for (const [name, { fields, place }] of reading.origins) {
    const { address, ...credentials } = fields
    const at = { ...place, property: `auth.origin.${name}` }
    if (address === undefined) {
      problems.add({
        ...at,
        message: `has no auth.origin.${name}.address: say which origin (host or host:port)`,
      })
      continue
    }
    const parsed = problems.check(
      { ...at, property: `auth.origin.${name}.address`, value: address },
      () => parseOriginAddress(address),
      null,
    )
    if (parsed === null) continue
    if (Object.keys(credentials).length === 0) {
      problems.add({ ...at, message: 'gives no username, password or token' })
      continue
    }
    out.push({ host: parsed.host, port: parsed.port, ...credentials })
  }
  return out
}

/**
 * The settings the node uses: the credentials file absolute (a relative
 * path is taken from the conf folder's parent, Red5's `RED5_HOME`), and a
 * roundtrip validator that names no endpoint is a problem.
 */
export function resolveAuth(reading: AuthReading, confDir: string, problems: ProblemList): AuthSettings {
  const credentials = confPath(confDir, reading.credentials, DEFAULT_CREDENTIALS_FILE)
  const validatorPlace = reading.places.get('auth.validator')
  if (reading.validator === 'roundtrip' && reading.roundtripUrl === undefined && validatorPlace !== undefined)
    problems.add({
      ...validatorPlace,
      message: 'is roundtrip, but auth.roundtrip.url is not set: name the endpoint to ask',
    })
  return {
    publish: reading.publish,
    play: reading.play,
    validator: reading.validator,
    credentials,
    roundtripUrl: reading.roundtripUrl ?? null,
    roundtripTimeoutMs: reading.roundtripTimeoutMs,
    ownerHoldMs: Math.round(reading.ownerHoldSeconds * 1000),
    groups: resolveGroups(reading, problems),
    origins: resolveOrigins(reading, problems),
  }
}

/** The settings of a node with no auth keys: everyone may publish and play. */
export function defaultAuth(confDir: string): AuthSettings {
  const {
    places: _places,
    credentials: _credentials,
    roundtripUrl: _url,
    origins: _origins,
    groups: _groups,
    ownerHoldSeconds,
    ...rest
  } = defaultAuthReading()
  return {
    ...rest,
    credentials: join(confDir, DEFAULT_CREDENTIALS_FILE),
    roundtripUrl: null,
    ownerHoldMs: ownerHoldSeconds * 1000,
    groups: [],
    origins: [],
  }
}

function parseValidator(text: string): AuthValidator {
  const lower = text.toLowerCase() as AuthValidator
  if (VALIDATORS.includes(lower)) return lower
  throw new InvalidValueError(`is not a validator: use ${VALIDATORS.join(' or ')}`)
}

function parseEndpoint(text: string): string {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new InvalidValueError('is not a URL: use http://host:port/path or https://…')
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new InvalidValueError(`is a ${url.protocol} URL: use http:// or https://`)
  return url.href
}

function positive(ms: number): number {
  if (ms === 0) throw new InvalidValueError('is 0: the endpoint needs some time to answer (e.g. 3000)')
  return ms
}
