/**
 * One error class per failure. Each sets `name`, so callers
 * test `err.name` or `instanceof`, never the message text.
 */
export class MeshcastError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'MeshcastError'
  }
}

/** Where in a configuration file a problem sits, as far as it is known. */
export interface ConfigProblem {
  /** absolute or conf-relative path of the file */
  file: string
  /** 1-based line, when the parser could tell */
  line?: number
  /** e.g. `password` (cluster.xml) or `http.port` (red5.properties) */
  property?: string
  /** the offending value as written */
  value?: string
  /** what was wrong and what would be valid */
  message: string
}

export function formatConfigProblem(p: ConfigProblem): string {
  const where = p.line === undefined ? p.file : `${p.file}:${p.line}`
  const prop = p.property === undefined ? '' : ` property "${p.property}"`
  const value = p.value === undefined ? '' : ` (value ${JSON.stringify(p.value)})`
  return `${where}:${prop}${value} ${p.message}`
}

/** The configuration cannot be used; lists every problem found, one per line. */
export class ConfigError extends MeshcastError {
  readonly problems: readonly ConfigProblem[]
  constructor(problems: ConfigProblem[], options?: ErrorOptions) {
    const lines = problems.map((p) => `  - ${formatConfigProblem(p)}`)
    const head =
      problems.length === 1
        ? 'invalid configuration:'
        : `invalid configuration (${problems.length} problems):`
    super(`${head}\n${lines.join('\n')}`, options)
    this.name = 'ConfigError'
    this.problems = Object.freeze([...problems])
  }
}

/** A listener (HTTP, RTMP, mesh) could not bind its address. */
export class ListenError extends MeshcastError {
  readonly listener: string
  readonly address: string
  readonly code: string | undefined
  constructor(listener: string, address: string, cause: NodeJS.ErrnoException) {
    super(`${listener} listener cannot bind ${address}: ${describeListenFailure(cause)}`, { cause })
    this.name = 'ListenError'
    this.listener = listener
    this.address = address
    this.code = cause.code
  }
}

function describeListenFailure(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'EADDRINUSE':
      return 'the address is already in use (another meshcast or media server running?)'
    case 'EADDRNOTAVAIL':
      return 'no network interface has this address'
    case 'EACCES':
      return 'permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)'
    default:
      return err.message
  }
}
