import { readdirSync, statSync } from 'node:fs'
import { dirname, isAbsolute, join, resolve } from 'node:path'
import { type AppSpec, appNameProblem } from '@meshcast/interface'
import type { ProblemList } from '../problems/problem-list.ts'
import { where } from '../problems/where.ts'
import type { WebappsSettings } from '../types.ts'

/** The red5.properties key of the applications folder. */
export const WEBAPPS_DIR_KEY = 'webapps.dir'
/** `app.<name>=<path>` lists an application; `app.<name>.<key>=<value>` gives it a setting. */
export const APP_KEY_PREFIX = 'app.'
/** Red5's layout: `webapps/` beside `conf/`, each sub-folder one application named after it. */
export const DEFAULT_WEBAPPS_DIR = 'webapps'

/** A value as written, and its line. */
interface Written {
  value: string
  line: number
}

/** The application keys of red5.properties, as written; `resolveWebapps` checks them against the disk. */
export interface WebappsReading {
  dir: Written | undefined
  /** `app.<name>`, by name */
  apps: Map<string, Written>
  /** `app.<name>.<key>`, by name then key */
  settings: Map<string, Map<string, Written>>
}

export function emptyWebappsReading(): WebappsReading {
  return { dir: undefined, apps: new Map(), settings: new Map() }
}

/** Whether red5.properties `key` is one of the application keys. */
export function isWebappsKey(key: string): boolean {
  return key === WEBAPPS_DIR_KEY || key.startsWith(APP_KEY_PREFIX)
}

/** Records one application key; a bad application name is a problem. */
export function readWebappsKey(
  reading: WebappsReading,
  place: { file: string; line: number; property: string; value: string },
  problems: ProblemList,
): void {
  const written = { value: place.value.trim(), line: place.line }
  if (place.property === WEBAPPS_DIR_KEY) {
    reading.dir = written
    return
  }
  const rest = place.property.slice(APP_KEY_PREFIX.length)
  const dot = rest.indexOf('.')
  const name = dot === -1 ? rest : rest.slice(0, dot)
  const problem = appNameProblem(name)
  if (problem !== null) {
    problems.add({ ...place, message: `names application "${name}", which ${problem}` })
  } else if (dot === -1) {
    reading.apps.set(name, written)
  } else if (dot === rest.length - 1) {
    problems.add({ ...place, message: `has no setting name after "${APP_KEY_PREFIX}${name}."` })
  } else {
    const settings = reading.settings.get(name) ?? new Map<string, Written>()
    settings.set(rest.slice(dot + 1), written)
    reading.settings.set(name, settings)
  }
}

function isFolder(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isDirectory() === true
}

/** Sub-folders of `dir` (symbolic links to folders too), sorted; hidden ones (`.git`) are not applications. */
function subFolders(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => !name.startsWith('.') && isFolder(join(dir, name)))
    .sort()
}

/**
 * Finds the node's applications: every sub-folder of `webapps.dir` (default
 * `webapps` beside the conf folder), then each `app.<name>` over them (an
 * empty value leaves that application out). Relative paths are resolved
 * against the server root, the folder holding the conf folder.
 */
export function resolveWebapps(
  reading: WebappsReading,
  confDir: string,
  file: string,
  problems: ProblemList,
): { webapps: WebappsSettings; warnings: string[] } {
  const root = dirname(confDir)
  const absolute = (path: string) => (isAbsolute(path) ? path : resolve(root, path))
  const warnings: string[] = []
  const found = new Map<string, string>()
  const dirValue = reading.dir?.value ?? DEFAULT_WEBAPPS_DIR
  const dir = dirValue === '' ? null : absolute(dirValue)
  if (dir !== null && isFolder(dir)) {
    for (const name of subFolders(dir)) {
      const problem = appNameProblem(name)
      if (problem === null) found.set(name, join(dir, name))
      else warnings.push(`${dir}: folder "${name}" is not loaded as an application: its name ${problem}`)
    }
  } else if (dir !== null && reading.dir !== undefined) {
    problems.add({
      file,
      line: reading.dir.line,
      property: WEBAPPS_DIR_KEY,
      value: reading.dir.value,
      message: `is not a folder (${dir}): create it, or write "${WEBAPPS_DIR_KEY}=" for none`,
    })
  }
  for (const [name, { value, line }] of reading.apps) {
    const place = { file, line, property: `${APP_KEY_PREFIX}${name}`, value }
    if (value === '') {
      found.delete(name)
      continue
    }
    const path = absolute(value)
    if (statSync(path, { throwIfNoEntry: false }) === undefined) {
      problems.add({ ...place, message: `is not found (${path}): give the application's folder or module` })
      continue
    }
    if (found.has(name) && found.get(name) !== path) {
      warnings.push(`${where(file, line)}: ${place.property} replaces the folder ${found.get(name)}`)
    }
    found.set(name, path)
  }
  for (const [name, settings] of reading.settings) {
    if (found.has(name)) continue
    const first = Math.min(...[...settings.values()].map((s) => s.line))
    warnings.push(
      `${where(file, first)}: settings for application "${name}" are ignored: no such application is loaded`,
    )
  }
  const apps: AppSpec[] = [...found.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, path]) => ({ name, path, settings: settingsOf(reading, name) }))
  return { webapps: { dir, apps }, warnings }
}

function settingsOf(reading: WebappsReading, name: string): Record<string, string> {
  const settings: Record<string, string> = {}
  for (const [key, { value }] of reading.settings.get(name) ?? []) settings[key] = value
  return settings
}
