import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { CLUSTER_XML, RED5_PROPERTIES } from './defaults.ts'
import type { ProblemList } from './problems/problem-list.ts'

/** The two files of a conf folder; text undefined when it could not be read (a problem says why). */
export interface ConfFiles {
  cluster: string
  properties: string
  clusterText: string | undefined
  /** null when red5.properties is absent, which is fine */
  propertiesText: string | null | undefined
}

type EntryKind = 'file' | 'folder' | 'missing' | 'other'

function kindOf(path: string): EntryKind {
  const stats = statSync(path, { throwIfNoEntry: false })
  if (stats === undefined) return 'missing'
  if (stats.isDirectory()) return 'folder'
  return stats.isFile() ? 'file' : 'other'
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/** Runs a file-system step; a failure (permissions, ENOTDIR...) becomes a problem on `path`. */
function attempt<T>(path: string, problems: ProblemList, step: () => T): T | undefined {
  try {
    return step()
  } catch (err) {
    problems.add({ file: path, message: `cannot be read: ${describe(err)}` })
    return undefined
  }
}

function readFile(path: string, kind: EntryKind, problems: ProblemList): string | undefined {
  if (kind === 'folder') problems.add({ file: path, message: 'is a folder, not a file' })
  else if (kind !== 'file') problems.add({ file: path, message: 'is not a regular file' })
  else return attempt(path, problems, () => readFileSync(path, 'utf8'))
  return undefined
}

function readFolder(dir: string, problems: ProblemList): boolean {
  const kind = attempt(dir, problems, () => kindOf(dir))
  if (kind === 'missing') {
    problems.add({ file: dir, message: 'conf folder not found: pass the folder that holds cluster.xml' })
  } else if (kind !== undefined && kind !== 'folder') {
    problems.add({
      file: dir,
      message: 'is a file, not a folder: pass the conf folder that holds cluster.xml',
    })
  }
  return kind === 'folder'
}

/** Reads cluster.xml (required) and red5.properties (optional) from the conf folder `dir` (absolute). */
export function readConfFiles(dir: string, problems: ProblemList): ConfFiles {
  const files: ConfFiles = {
    cluster: join(dir, CLUSTER_XML),
    properties: join(dir, RED5_PROPERTIES),
    clusterText: undefined,
    propertiesText: undefined,
  }
  if (!readFolder(dir, problems)) return files
  const clusterKind = attempt(files.cluster, problems, () => kindOf(files.cluster))
  if (clusterKind === 'missing') {
    const message = `${CLUSTER_XML} not found: copy conf/examples/origin/${CLUSTER_XML} or conf/examples/edge/${CLUSTER_XML} here and edit it`
    problems.add({ file: files.cluster, message })
  } else if (clusterKind !== undefined) {
    files.clusterText = readFile(files.cluster, clusterKind, problems)
  }
  const propertiesKind = attempt(files.properties, problems, () => kindOf(files.properties))
  if (propertiesKind === 'missing') files.propertiesText = null
  else if (propertiesKind !== undefined)
    files.propertiesText = readFile(files.properties, propertiesKind, problems)
  return files
}
