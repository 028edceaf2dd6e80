import { readFileSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { AppSpec } from '@meshcast/interface'
import { AppLoadError } from './errors.ts'
import type { Application } from './types.ts'

/** Where an application folder's module is looked for, after package.json's `main`. */
export const ENTRY_CANDIDATES: readonly string[] = [
  'index.ts',
  'index.js',
  'index.mjs',
  'src/index.ts',
  'src/index.js',
  'src/index.mjs',
]

function isFile(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isFile() === true
}

function packageMain(dir: string): string | undefined {
  const file = join(dir, 'package.json')
  if (!isFile(file)) return undefined
  const main = (JSON.parse(readFileSync(file, 'utf8')) as { main?: unknown }).main
  return typeof main === 'string' ? join(dir, main) : undefined
}

/** The application's folder: `path`, or the folder of the module file `path` names. */
export function appFolder(spec: AppSpec): string {
  return isFile(spec.path) ? dirname(spec.path) : spec.path
}

/** The module file of an application: `path` itself, or the entry of the folder `path`. */
export function findEntry(spec: AppSpec): string {
  if (isFile(spec.path)) return spec.path
  const candidates = [packageMain(spec.path), ...ENTRY_CANDIDATES.map((c) => join(spec.path, c))]
  const entry = candidates.find((c) => c !== undefined && isFile(c))
  if (entry === undefined) {
    throw new AppLoadError(
      spec.name,
      `no module in ${spec.path}: give it a package.json "main" or one of ${ENTRY_CANDIDATES.join(', ')}`,
    )
  }
  return entry
}

function isApplication(value: unknown): value is Application {
  const app = value as Application | null
  return (
    typeof app === 'object' &&
    app !== null &&
    typeof app.start === 'function' &&
    (app.stop === undefined || typeof app.stop === 'function')
  )
}

/**
 * What a module exports, as an Application: its default export (an object
 * with `start`, or a function making one: a fresh app per load), or its
 * named `start` and `stop`.
 */
export function toApplication(name: string, entry: string, mod: Record<string, unknown>): Application {
  const exported = typeof mod.default === 'function' ? (mod.default as () => unknown)() : mod.default
  const app = exported === undefined ? mod : exported
  if (!isApplication(app)) {
    throw new AppLoadError(
      name,
      `${entry} is not an application: export start(ctx) (and stop()), as named exports, as a default object, or from a default function`,
    )
  }
  return app
}

/** Imports an application's module. Throws AppLoadError, the import's error as its cause. */
export async function loadApplication(spec: AppSpec): Promise<{ app: Application; entry: string }> {
  const entry = findEntry(spec)
  let mod: Record<string, unknown>
  try {
    mod = (await import(pathToFileURL(entry).href)) as Record<string, unknown>
  } catch (err) {
    throw new AppLoadError(spec.name, `cannot import ${entry}: ${(err as Error).message}`, { cause: err })
  }
  return { app: toApplication(spec.name, entry, mod), entry }
}
