import { Command } from 'commander'
import { createLogger } from '../logging.ts'
import { runUntilSignal, watchForStop } from '../run-until-signal.ts'
import { trimMemoryAfterStart } from '../trim-memory.ts'
import { addConfOptions, addLogOptions, type ConfOptions, type LogOptions } from './options.ts'
import { startNode } from './start-node.ts'

type StartOptions = ConfOptions & LogOptions & { stopOnStdinClose?: boolean }

/** `meshcast start`: run one node until SIGINT/SIGTERM. */
export function startCommand(setExit: (code: number) => void): Command {
  const cmd = new Command('start')
    .description('start a node from a conf folder; SIGINT or SIGTERM stops it cleanly')
    .option('--stop-on-stdin-close', 'also stop when standard input closes (for supervisors and tests)')
  addConfOptions(cmd)
  addLogOptions(cmd)
  return cmd.action(async (opts: StartOptions) => {
    const logger = createLogger({ level: opts.logLevel, format: opts.logFormat, to: opts.logTo })
    const run = { stopOnStdinClose: opts.stopOnStdinClose === true }
    // armed before the start: a SIGTERM while the node joins stops it gracefully once it is up
    const stop = watchForStop(run)
    let daemon: Awaited<ReturnType<typeof startNode>> = null
    try {
      daemon = await startNode(opts, logger)
    } finally {
      if (daemon === null) stop.disarm()
    }
    if (daemon === null) {
      setExit(1)
      return
    }
    trimMemoryAfterStart(logger)
    setExit(await runUntilSignal(daemon, logger, run, stop))
  })
}
