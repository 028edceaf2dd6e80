import {
  type ConfigOverrides,
  DEFAULT_HTTP_PORT,
  DEFAULT_MESH_PORT,
  DEFAULT_RTMP_PORT,
  loadConfig,
  type NodeConfig,
} from '@meshcast/config'
import { type Command, Option } from 'commander'
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from '../logging.ts'

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
}

/** Flags every command that reads a conf folder shares. */
export function addConfOptions(cmd: Command): Command {
  return cmd
    .option('-c, --conf <dir>', 'folder holding cluster.xml and red5.properties', DEFAULT_CONF_DIR)
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
      new Option('--log-level <level>', 'least severe level logged').choices(LOG_LEVELS).default('info'),
    )
    .addOption(
      new Option('--log-format <format>', 'pretty lines or one JSON object a line')
        .choices(LOG_FORMATS)
        .default('pretty'),
    )
}

/** Validates flags and files together; throws ConfigError. */
export function configFrom(opts: ConfOptions): NodeConfig {
  const overrides: ConfigOverrides = {}
  if (opts.host !== undefined) overrides.host = opts.host
  if (opts.httpPort !== undefined) overrides.httpPort = opts.httpPort
  if (opts.rtmpPort !== undefined) overrides.rtmpPort = opts.rtmpPort
  if (opts.meshPort !== undefined) overrides.meshPort = opts.meshPort
  if (opts.mdns === false) overrides.mdns = false
  if (opts.peer !== undefined) overrides.peers = opts.peer
  return loadConfig(opts.conf, overrides)
}
