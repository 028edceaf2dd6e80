import type { Logger } from '@meshcast/interface'
import winston from 'winston'

export const LOG_FORMATS = ['pretty', 'json'] as const
export type LogFormat = (typeof LOG_FORMATS)[number]
export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]
export const LOG_STREAMS = ['stderr', 'stdout'] as const
export type LogStream = (typeof LOG_STREAMS)[number]

export interface LoggingOptions {
  level: LogLevel
  format: LogFormat
  /** where lines go; default stderr */
  to?: LogStream
  /** colour the level in pretty output; default: when that stream is a terminal */
  colors?: boolean
}

/** Keys the pretty format prints in fixed places, not as `key=value`. */
const PLACED_KEYS = new Set(['level', 'message', 'timestamp', 'component'])

/** `component=media path=/live/a` for the pretty format. */
function fieldsText(info: winston.Logform.TransformableInfo): string {
  const parts: string[] = []
  for (const [key, value] of Object.entries(info)) {
    if (PLACED_KEYS.has(key) || value === undefined) continue
    const text = typeof value === 'string' ? value : JSON.stringify(value)
    parts.push(`${key}=${/[\s"]/.test(text) ? JSON.stringify(text) : text}`)
  }
  return parts.length === 0 ? '' : ` ${parts.join(' ')}`
}

const pretty = winston.format.printf((info) => {
  const component = typeof info.component === 'string' ? ` [${info.component}]` : ''
  return `${info.timestamp} ${info.level}${component} ${info.message}${fieldsText(info)}`
})

/**
 * One winston logger for the process. Everything goes to stderr by default
 * so that a command's own output (`meshcast check`) stays clean on stdout;
 * a container's log collector may want stdout instead.
 */
export function createLogger(options: LoggingOptions): Logger {
  const toStdout = options.to === 'stdout'
  const colors = options.colors ?? (toStdout ? process.stdout : process.stderr).isTTY === true
  const format =
    options.format === 'json'
      ? winston.format.combine(winston.format.timestamp(), winston.format.json())
      : winston.format.combine(
          winston.format.timestamp({ format: 'HH:mm:ss.SSS' }),
          ...(colors ? [winston.format.colorize({ level: true })] : []),
          pretty,
        )
  return winston.createLogger({
    level: options.level,
    format,
    transports: [new winston.transports.Console({ stderrLevels: toStdout ? [] : [...LOG_LEVELS] })],
  })
}
