import { ConfigError, ListenError } from '@meshcast/interface'
import { Command } from 'commander'
import { Daemon } from '../daemon.ts'
import { createLogger } from '../logging.ts'
import { runUntilSignal } from '../run-until-signal.ts'
import { addConfOptions, addLogOptions, type ConfOptions, configFrom, type LogOptions } from './options.ts'

type StartOptions = ConfOptions & LogOptions & { stopOnStdinClose?: boolean }

/** `meshcast start`: run one node until SIGINT/SIGTERM. */
export function startCommand(setExit: (code: number) => void): Command {
  const cmd = new Command('start')
    .description('start a node from a conf folder; SIGINT or SIGTERM stops it cleanly')
    .option('--stop-on-stdin-close', 'also stop when standard input closes (for supervisors and tests)')
  addConfOptions(cmd)
  addLogOptions(cmd)
  return cmd.action(async (opts: StartOptions) => {
    const logger = createLogger({ level: opts.logLevel, format: opts.logFormat })
    let daemon: Daemon
    try {
      const config = configFrom(opts)
      for (const warning of config.warnings) logger.warn(warning, { component: 'config' })
      daemon = new Daemon(config, logger)
      await daemon.start()
    } catch (err) {
      if (!(err instanceof ConfigError || err instanceof ListenError)) throw err
      logger.error(err.message)
      setExit(1)
      return
    }
    setExit(await runUntilSignal(daemon, logger, { stopOnStdinClose: opts.stopOnStdinClose === true }))
  })
}
