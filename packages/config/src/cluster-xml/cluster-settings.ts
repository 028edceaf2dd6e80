import { type ConfigProblem, formatAddress } from '@meshcast/interface'
import { DEFAULTS, PASSWORD_MASK } from '../defaults.ts'
import { canonicalHost, parseHost, parseOriginAddress } from '../parse-address.ts'
import { parseBoolean, parseNodeType, parsePassword, parsePort, parseRetryDuration } from '../parse-values.ts'
import { didYouMean } from '../problems/closest-name.ts'
import { ProblemList } from '../problems/problem-list.ts'
import { where } from '../problems/where.ts'
import type { ClusterSettings, OriginAddress } from '../types.ts'
import type { RawListItem, RawProperty } from './read-bean.ts'

type ScalarName = Exclude<keyof ClusterSettings, 'origins'>

/** How each single-valued property is read. */
const SCALAR_PARSERS: { [K in ScalarName]: (text: string) => ClusterSettings[K] } = {
  password: parsePassword,
  publicIp: parseHost,
  publicPort: parsePort,
  privateInstance: parseBoolean,
  retryDuration: parseRetryDuration,
  nodeType: parseNodeType,
  kickOnUnpublish: parseBoolean,
  streamOnDemand: parseBoolean,
}

/** Every property the clusterConfig bean may set. */
export const CLUSTER_PROPERTIES: readonly string[] = ['origins', ...Object.keys(SCALAR_PARSERS)]

/** Checked settings, with the line of each origin and everything found wrong. */
export interface ClusterReading {
  settings: ClusterSettings
  /** line of each `settings.origins` entry, where known */
  originLines: (number | undefined)[]
  warnings: string[]
  problems: ConfigProblem[]
}

interface CheckContext {
  file: string
  problems: ProblemList
  warnings: string[]
}

function isScalarName(name: string): name is ScalarName {
  return Object.hasOwn(SCALAR_PARSERS, name)
}

/** Where problems about `property` point: its file and line, or the variable that set it. */
function placeOf(ctx: CheckContext, property: RawProperty) {
  const file = property.file ?? ctx.file
  return { file, line: property.line, property: property.label ?? property.name, value: property.text }
}

function setScalar<K extends ScalarName>(
  ctx: CheckContext,
  settings: ClusterSettings,
  name: K,
  property: RawProperty,
) {
  const outside = property.file !== undefined
  // a password from a variable or a secret file is never repeated in a problem
  const secret = name === 'password' && outside
  const place = { ...placeOf(ctx, property), ...(secret ? { value: PASSWORD_MASK } : {}) }
  if (property.value.kind !== 'text') {
    ctx.problems.add({ ...place, message: 'takes a single value, not a list: write value="..."' })
    return
  }
  const text = property.value.text
  const parse = secret
    ? () => parsePassword(text, false) as ClusterSettings[K]
    : () => SCALAR_PARSERS[name](text)
  settings[name] = ctx.problems.check(place, parse, settings[name])
}

/** A `value="a, b"` text splits on commas, as Spring converts a string to a list. */
function originEntries(property: RawProperty): RawListItem[] {
  if (property.value.kind === 'list') return property.value.items
  if (property.value.kind === 'invalid') return []
  const parts = property.value.text.split(',').map((part) => part.trim())
  return parts.filter((part) => part !== '').map((text) => ({ text, line: property.line }))
}

function readOrigins(ctx: CheckContext, property: RawProperty) {
  const origins: OriginAddress[] = []
  const lines: (number | undefined)[] = []
  const seen = new Map<string, RawListItem>()
  for (const entry of originEntries(property)) {
    const place = { ...placeOf(ctx, property), line: entry.line, value: entry.text.trim() }
    const origin = ctx.problems.check(place, () => parseOriginAddress(entry.text), undefined)
    if (origin === undefined) continue
    const key = formatAddress({ host: canonicalHost(origin.host), port: origin.port })
    const first = seen.get(key)
    if (first === undefined) {
      seen.set(key, entry)
      origins.push(origin)
      lines.push(entry.line)
    } else {
      const firstAt = first.line === undefined ? '' : ` on line ${first.line}`
      const at =
        property.label === undefined ? where(place.file, entry.line) : `${place.file}: ${property.label}`
      ctx.warnings.push(
        `${at}: origins entry "${origin.text}" repeats "${first.text.trim()}"${firstAt} (both ${key}); the repeat is ignored`,
      )
    }
  }
  return { origins, lines }
}

function reportDuplicate(ctx: CheckContext, property: RawProperty, firstLine: number | undefined): void {
  const lines =
    firstLine === undefined || property.line === undefined ? '' : ` (lines ${firstLine} and ${property.line})`
  ctx.problems.add({
    file: ctx.file,
    line: property.line,
    property: property.name,
    value: property.text,
    message: `is set more than once${lines}: keep one`,
  })
}

function warnUnknown(ctx: CheckContext, property: RawProperty): void {
  const hint = didYouMean(property.name, CLUSTER_PROPERTIES)
  ctx.warnings.push(
    `${where(ctx.file, property.line)}: unknown property "${property.name}" is ignored${hint}`,
  )
}

/** Turns the bean's raw properties into settings: defaults for what is absent, problems for what is wrong. */
export function checkClusterProperties(properties: readonly RawProperty[], file: string): ClusterReading {
  const ctx: CheckContext = { file, problems: new ProblemList(), warnings: [] }
  const settings: ClusterSettings = { ...DEFAULTS.cluster, origins: [] }
  let originLines: (number | undefined)[] = []
  const firstLines = new Map<string, number | undefined>()
  for (const property of properties) {
    const { name } = property
    if (name !== 'origins' && !isScalarName(name)) {
      warnUnknown(ctx, property)
    } else if (firstLines.has(name)) {
      reportDuplicate(ctx, property, firstLines.get(name))
    } else {
      firstLines.set(name, property.line)
      if (property.value.kind === 'invalid') continue // already reported
      if (isScalarName(name)) {
        setScalar(ctx, settings, name, property)
      } else {
        const { origins, lines } = readOrigins(ctx, property)
        settings.origins = origins
        originLines = lines
      }
    }
  }
  return { settings, originLines, warnings: ctx.warnings, problems: ctx.problems.problems }
}
