import { parseHost } from './parse-address.ts'
import { copyListeners } from './parse-red5-properties.ts'
import { parsePort } from './parse-values.ts'
import type { ProblemList } from './problem-list.ts'
import type { ConfigOverrides, Listeners } from './types.ts'

/** The `file` of problems about command-line values. */
export const COMMAND_LINE = 'command line'

/** Each port override, the listener it sets and the flag the user typed. */
const PORT_OVERRIDES = [
  ['httpPort', 'http', '--http-port'],
  ['rtmpPort', 'rtmp', '--rtmp-port'],
  ['meshPort', 'mesh', '--mesh-port'],
] as const

/** Applies command-line values over the listeners; bad values become problems and leave the listener as it was. */
export function applyOverrides(
  listeners: Listeners,
  overrides: ConfigOverrides,
  problems: ProblemList,
): Listeners {
  const result = copyListeners(listeners)
  const { host } = overrides
  if (host !== undefined) {
    const place = { file: COMMAND_LINE, property: '--host', value: host }
    const parsed = problems.check(place, () => parseHost(host), undefined)
    if (parsed !== undefined) {
      for (const address of [result.http, result.rtmp, result.mesh]) address.host = parsed
    }
  }
  for (const [option, listener, flag] of PORT_OVERRIDES) {
    const text = overrides[option]
    if (text === undefined) continue
    const place = { file: COMMAND_LINE, property: flag, value: text }
    result[listener].port = problems.check(place, () => parsePort(text), result[listener].port)
  }
  return result
}
