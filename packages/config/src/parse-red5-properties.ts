import type { ConfigProblem } from '@meshcast/interface'
import { Pair, parseLines } from 'dot-properties'
import { didYouMean } from './closest-name.ts'
import { DEFAULTS } from './defaults.ts'
import { LineIndex } from './line-index.ts'
import { parseHost } from './parse-address.ts'
import { parsePort } from './parse-values.ts'
import { ProblemList, type ProblemPlace } from './problem-list.ts'
import type { ListenAddress, Listeners } from './types.ts'
import { where } from './where.ts'

/** The keys meshcast reads, and which listener field each sets. */
const KEYS = new Map<string, [keyof Listeners, keyof ListenAddress]>([
  ['http.host', ['http', 'host']],
  ['http.port', ['http', 'port']],
  ['rtmp.host', ['rtmp', 'host']],
  ['rtmp.port', ['rtmp', 'port']],
  ['mesh.host', ['mesh', 'host']],
  ['mesh.port', ['mesh', 'port']],
])

/** Every red5.properties key meshcast reads. */
export const RED5_PROPERTY_KEYS: readonly string[] = [...KEYS.keys()]

/** `mesh.*` keys are meshcast's own, so an unknown one is likely a typo; other unknown keys belong to Red5. */
const OWN_PREFIX = 'mesh.'

/** Listeners read from red5.properties, with everything found wrong. */
export interface PropertiesReading extends Listeners {
  warnings: string[]
  problems: ConfigProblem[]
}

/** A mutable copy, so defaults are never changed. */
export function copyListeners(listeners: Listeners): Listeners {
  return { http: { ...listeners.http }, rtmp: { ...listeners.rtmp }, mesh: { ...listeners.mesh } }
}

function setField(
  address: ListenAddress,
  field: keyof ListenAddress,
  place: ProblemPlace,
  problems: ProblemList,
) {
  const text = place.value ?? ''
  if (field === 'host') address.host = problems.check(place, () => parseHost(text), address.host)
  else address.port = problems.check(place, () => parsePort(text), address.port)
}

/** Reads red5.properties text; problems are returned, not thrown. */
export function readRed5Properties(text: string, file: string): PropertiesReading {
  const listeners = copyListeners(DEFAULTS)
  const lines = new LineIndex(text)
  const problems = new ProblemList()
  const warnings: string[] = []
  const firstLines = new Map<string, number>()
  for (const node of parseLines(text, true)) {
    if (!(node instanceof Pair)) continue
    const { key, value } = node
    const line = lines.lineAt(node.range?.[0] ?? 0)
    const target = KEYS.get(key)
    const firstLine = firstLines.get(key)
    if (target === undefined) {
      if (key.startsWith(OWN_PREFIX)) {
        warnings.push(
          `${where(file, line)}: unknown key "${key}" is ignored${didYouMean(key, RED5_PROPERTY_KEYS)}`,
        )
      }
    } else if (firstLine !== undefined) {
      const message = `is set more than once (lines ${firstLine} and ${line}): keep one`
      problems.add({ file, line, property: key, value, message })
    } else {
      firstLines.set(key, line)
      setField(listeners[target[0]], target[1], { file, line, property: key, value }, problems)
    }
  }
  return { ...listeners, warnings, problems: problems.problems }
}

/**
 * Parses the text of a red5.properties file: http, rtmp and mesh host and
 * port, defaults for absent keys. Other Red5 keys are ignored; unknown
 * `mesh.*` keys give warnings. Throws one ConfigError listing every problem.
 */
export function parseRed5Properties(text: string, file: string): Listeners & { warnings: string[] } {
  const { problems, ...reading } = readRed5Properties(text, file)
  const list = new ProblemList()
  list.addAll(problems)
  list.throwIfAny()
  return reading
}
