import { readFileSync } from 'node:fs'
import type { ConfigProblem } from '@meshcast/interface'
import { CLUSTER_PROPERTIES } from './cluster-xml/cluster-settings.ts'
import { didYouMean } from './problems/closest-name.ts'
import { RED5_PROPERTY_KEYS } from './red5-properties/parse-red5-properties.ts'
import { WEBAPPS_DIR_KEY } from './red5-properties/webapps.ts'

/** The `file` of problems and warnings about environment variables. */
export const ENVIRONMENT = 'environment'

/** Every variable meshcast reads starts so. */
export const ENV_PREFIX = 'MESHCAST_'

/** A file holding the cluster password (a mounted Docker or Kubernetes secret, systemd's credentials). */
export const PASSWORD_FILE_VARIABLE = 'MESHCAST_PASSWORD_FILE'

/**
 * Variables read elsewhere (the CLI, the ffmpeg finder): known, so not
 * warned about here.
 */
const OTHER_VARIABLES = [
  PASSWORD_FILE_VARIABLE,
  'MESHCAST_CONF',
  'MESHCAST_LOG_LEVEL',
  'MESHCAST_LOG_FORMAT',
  'MESHCAST_LOG_TO',
  'MESHCAST_FFMPEG',
]

/** `publicIp` → `MESHCAST_PUBLIC_IP`, `mesh.peers` → `MESHCAST_MESH_PEERS`. Pure. */
export function envName(name: string): string {
  return (
    ENV_PREFIX +
    name
      .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
      .replace(/\./g, '_')
      .toUpperCase()
  )
}

/** The application folder comes from a mounted conf, not a variable: its problems name red5.properties lines. */
const PROPERTY_KEYS = RED5_PROPERTY_KEYS.filter((key) => key !== WEBAPPS_DIR_KEY)

/** Each cluster.xml property and red5.properties key a variable sets, by variable name. */
const CLUSTER_VARIABLES = new Map(CLUSTER_PROPERTIES.map((name) => [envName(name), name]))
const PROPERTY_VARIABLES = new Map(PROPERTY_KEYS.map((key) => [envName(key), key]))

/** Every variable name meshcast reads, sorted (for docs and typo hints). */
export const ENV_VARIABLES: readonly string[] = [
  ...CLUSTER_VARIABLES.keys(),
  ...PROPERTY_VARIABLES.keys(),
  ...OTHER_VARIABLES,
].sort()

/** One setting given by a variable: `name` is the cluster.xml property or red5.properties key it stands for. */
export interface EnvSetting {
  name: string
  variable: string
  value: string
}

/** What the environment says, with everything found wrong. */
export interface EnvironmentReading {
  cluster: EnvSetting[]
  properties: EnvSetting[]
  warnings: string[]
  problems: ConfigProblem[]
}

/** A password file's text without the line end editors and `echo` add. */
function readPasswordFile(path: string): string {
  return readFileSync(path, 'utf8').replace(/\r?\n$/, '')
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/** Adds the password from MESHCAST_PASSWORD_FILE, unless that is unset or conflicts. */
function readPassword(env: Readonly<Record<string, string | undefined>>, reading: EnvironmentReading): void {
  const path = env[PASSWORD_FILE_VARIABLE]
  if (path === undefined || path === '') return
  const place = { file: ENVIRONMENT, property: PASSWORD_FILE_VARIABLE, value: path }
  if (reading.cluster.some((s) => s.name === 'password')) {
    reading.problems.push({ ...place, message: `and ${envName('password')} are both set: keep one` })
    return
  }
  try {
    const value = readPasswordFile(path)
    reading.cluster.push({ name: 'password', variable: PASSWORD_FILE_VARIABLE, value })
  } catch (err) {
    reading.problems.push({ ...place, message: `names a file that cannot be read: ${describe(err)}` })
  }
}

/**
 * Reads the `MESHCAST_*` variables that stand for cluster.xml properties
 * (`MESHCAST_PUBLIC_IP` for `publicIp`) and red5.properties keys
 * (`MESHCAST_MESH_PEERS` for `mesh.peers`). Their values are checked later,
 * as a file's are. An empty variable counts as unset, as Compose's `${X:-}`
 * gives one. An unknown `MESHCAST_*` name is a warning.
 */
export function readEnvironment(env: Readonly<Record<string, string | undefined>>): EnvironmentReading {
  const reading: EnvironmentReading = { cluster: [], properties: [], warnings: [], problems: [] }
  for (const variable of Object.keys(env).sort()) {
    const value = env[variable]
    if (!variable.startsWith(ENV_PREFIX) || value === undefined || value === '') continue
    const property = CLUSTER_VARIABLES.get(variable)
    const key = PROPERTY_VARIABLES.get(variable)
    if (property !== undefined) reading.cluster.push({ name: property, variable, value })
    else if (key !== undefined) reading.properties.push({ name: key, variable, value })
    else if (!OTHER_VARIABLES.includes(variable)) {
      reading.warnings.push(
        `${ENVIRONMENT}: unknown variable ${variable} is ignored${didYouMean(variable, ENV_VARIABLES)}`,
      )
    }
  }
  readPassword(env, reading)
  return reading
}
