import type { Logger } from '@meshcast/interface'
import { nmsLogger } from './nms.ts'

/**
 * Sends node-media-server's console logger through ours. Its "error" level is
 * mostly about misbehaving clients (bad RTMP bytes, refused paths), not about
 * this node, so it becomes a warning; its "info" is per-session chatter,
 * which the adapter reports itself in structured form, so it becomes debug.
 */
const LEVELS: Record<string, 'warn' | 'debug'> = {
  error: 'warn',
  warn: 'warn',
  info: 'debug',
  debug: 'debug',
  trace: 'debug',
}

export function bridgeNmsLogger(logger: Logger): void {
  // 'debug', as NodeMediaServer's constructor set it: its trace lines are per-packet chatter
  nmsLogger.level = 'debug'
  nmsLogger.log = (message: string, level = 'info') => {
    logger[LEVELS[level] ?? 'debug'](message)
  }
}
