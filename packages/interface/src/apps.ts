/** One application a node hosts, as the configuration names it. */
export interface AppSpec {
  /** the application's name: its URL prefix `/<name>/` and its namespace on the cluster bus */
  name: string
  /** absolute path of the application's folder (or of its module file) */
  path: string
  /** its own settings (red5.properties `app.<name>.<key>`), as written */
  settings: Readonly<Record<string, string>>
}

/** Letters, digits, `-` and `_`, starting with a letter or digit: a safe URL segment and bus name. */
const APP_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/

/** Paths of the node's own HTTP endpoints, which no application may take. */
export const RESERVED_APP_NAMES: readonly string[] = ['api', 'cluster', 'dashboard', 'metrics']

/** Why `name` cannot name an application, or null when it can. */
export function appNameProblem(name: string): string | null {
  if (!APP_NAME.test(name)) {
    return 'is not a valid application name: use 1 to 64 letters, digits, "-" or "_", starting with a letter or digit'
  }
  if (RESERVED_APP_NAMES.includes(name.toLowerCase())) {
    return `is reserved for the node's own endpoints (${RESERVED_APP_NAMES.map((n) => `/${n}`).join(', ')}): choose another name`
  }
  return null
}
