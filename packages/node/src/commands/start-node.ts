import { ConfigError, ListenError, type Logger } from '@meshcast/interface'
import { Daemon } from '../daemon.ts'
import { type ConfOptions, configFrom } from './options.ts'

/**
 * Loads the config and starts a node. A bad config or a listener that
 * cannot bind is logged as one clear error and gives null (the caller exits
 * 1); anything else is a bug and is thrown.
 */
export async function startNode(opts: ConfOptions, logger: Logger): Promise<Daemon | null> {
  try {
    const config = configFrom(opts)
    for (const warning of config.warnings) logger.warn(warning, { component: 'config' })
    const daemon = new Daemon(config, logger)
    await daemon.start()
    return daemon
  } catch (err) {
    if (!(err instanceof ConfigError || err instanceof ListenError)) throw err
    logger.error(err.message)
    return null
  }
}
