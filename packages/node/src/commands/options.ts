import {
  type ConfigOverrides,
  DEFAULT_HTTP_PORT,
  DEFAULT_MESH_PORT,
  DEFAULT_RTMP_PORT,
  loadConfig,
  type NodeConfig,
} from '@meshcast/config'
import { type Command, Option } from 'commander'
import {
  LOG_FORMATS,
  LOG_LEVELS,
  LOG_STREAMS,
  type LogFormat,
  type LogLevel,
  type LogStream,
} from '../logging.ts'

/** Red5 layout: the conf folder sits where the server is started. */
export const DEFAULT_CONF_DIR = 'conf'

export interface ConfOptions {
  conf: string
  host?: string
  httpPort?: string
  rtmpPort?: string
  meshPort?: string
  /** false with `--no-mdns`; commander makes it true otherwise, which must not override mesh.mdns */
  mdns?: boolean
  /** every `--peer`, in order */
  peer?: string[]
}

export interface LogOptions {
  logLevel: LogLevel
  logFormat: LogFormat
  logTo: LogStream
}

/** What the help says of the variables (packages/config/README.md lists them all). */
const VARIABLES_HELP = `
Every cluster.xml property and red5.properties key (but webapps.dir and app.*) can also be set by a variable,
MESHCAST_ and its name in upper snake case (MESHCAST_PASSWORD, MESHCAST_PUBLIC_IP,
MESHCAST_ORIGINS, MESHCAST_MESH_PEERS, MESHCAST_SHUTDOWN_DRAIN...), or the password
from a file with MESHCAST_PASSWORD_FILE. Variables win over the files; flags win over both.`

/** Flags every command that reads a conf folder shares. */
export function addConfOptions(cmd: Command): Command {
  return cmd
    .addHelpText('after', VARIABLES_HELP)
    .addOption(
      new Option('-c, --conf <dir>', 'folder holding cluster.xml and red5.properties')
        .env('MESHCAST_CONF')
        .default(DEFAULT_CONF_DIR),
    )
    .option('--host <address>', 'listen address for HTTP, RTMP and the mesh (overrides *.host)')
    .option('--http-port <port>', `HTTP port (overrides http.port, default ${DEFAULT_HTTP_PORT})`)
    .option('--rtmp-port <port>', `RTMP port (overrides rtmp.port, default ${DEFAULT_RTMP_PORT})`)
    .option('--mesh-port <port>', `mesh port (overrides mesh.port, default ${DEFAULT_MESH_PORT})`)
    .option('--no-mdns', 'do not announce or listen on mDNS (overrides mesh.mdns, default on)')
    .option(
      '--peer <host[:port]>',
      'extra mesh address to dial besides the origins; repeat for more; port defaults to the mesh port ' +
        '(replaces mesh.peers, default none)',
      collect,
    )
}

/** Commander argument parser that gathers a repeatable flag's values in order. */
function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value]
}

export function addLogOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--log-level <level>', 'least severe level logged')
        .choices(LOG_LEVELS)
        .env('MESHCAST_LOG_LEVEL')
        .default('info'),
    )
    .addOption(
      new Option('--log-format <format>', 'pretty lines or one JSON object a line')
        .choices(LOG_FORMATS)
        .env('MESHCAST_LOG_FORMAT')
        .default('pretty'),
    )
    .addOption(
      new Option('--log-to <stream>', 'where log lines go (a container collects stdout)')
        .choices(LOG_STREAMS)
        .env('MESHCAST_LOG_TO')
        .default('stderr'),
    )
}

/** Validates flags, `MESHCAST_*` variables and files together (flags win, then variables); throws ConfigError. */
export function configFrom(opts: ConfOptions): NodeConfig {
  const overrides: ConfigOverrides = {}
  if (opts.host !== undefined) overrides.host = opts.host
  if (opts.httpPort !== undefined) overrides.httpPort = opts.httpPort
  if (opts.rtmpPort !== undefined) overrides.rtmpPort = opts.rtmpPort
  if (opts.meshPort !== undefined) overrides.meshPort = opts.meshPort
  if (opts.mdns === false) overrides.mdns = false
  if (opts.peer !== undefined) overrides.peers = opts.peer
  return loadConfig(opts.conf, overrides, process.env)
}
