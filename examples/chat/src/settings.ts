import type { Logger } from '@meshcast/node'

/** chatr's settings (red5.properties `app.chatr.<key>`), with their defaults. */
export interface ChatSettings {
  /** entries of history kept on every node and given to late joiners */
  history: number
  /** messages a second one page may send, on average */
  rate: number
  /** messages one page may send at once */
  burst: number
}

export const DEFAULT_SETTINGS: Readonly<ChatSettings> = Object.freeze({ history: 100, rate: 5, burst: 10 })

/** Bounds that keep a typo from hurting: the history rides state transfer (64 KiB a message at most). */
const LIMITS: Record<keyof ChatSettings, [number, number]> = {
  history: [1, 1000],
  rate: [0.1, 1000],
  burst: [1, 1000],
}

/** Reads the settings; a bad value is logged and its default used. */
export function chatSettings(raw: Readonly<Record<string, string>>, log: Logger): ChatSettings {
  const settings = { ...DEFAULT_SETTINGS }
  for (const key of Object.keys(raw)) {
    if (!(key in LIMITS)) log.warn('unknown chatr setting ignored', { key, known: Object.keys(LIMITS) })
  }
  for (const key of Object.keys(LIMITS) as (keyof ChatSettings)[]) {
    const text = raw[key]
    if (text === undefined) continue
    const [min, max] = LIMITS[key]
    const value = Number(text)
    const whole = key !== 'rate'
    if (text.trim() === '' || !(value >= min && value <= max) || (whole && !Number.isInteger(value))) {
      log.warn('bad chatr setting: using the default', { key, value: text, min, max, default: settings[key] })
      continue
    }
    settings[key] = value
  }
  return settings
}
