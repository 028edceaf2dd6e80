import { ENV_PREFIX } from '@meshcast/config'
import { Command, CommanderError } from 'commander'
import { checkCommand } from './commands/check.ts'
import { demoCommand } from './commands/demo.ts'
import { passwdCommand } from './commands/passwd.ts'
import { startCommand } from './commands/start.ts'
import { VERSION } from './version.ts'

/**
 * An empty `MESHCAST_*` variable counts as unset, as the conf's variables
 * do (Compose's `${X:-}` gives one); commander would take `MESHCAST_CONF=`
 * for the current folder.
 */
function dropEmptyVariables(env: NodeJS.ProcessEnv): void {
  for (const [name, value] of Object.entries(env))
    if (name.startsWith(ENV_PREFIX) && value === '') delete env[name]
}

/** Parses argv (as process.argv) and runs the command; resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  dropEmptyVariables(process.env)
  let code = 0
  const setExit = (c: number) => {
    code = c
  }
  const program = new Command('meshcast')
    .description('origin/edge clustering for live streaming, over a libp2p mesh')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ showGlobalOptions: true })
    .exitOverride()
  for (const cmd of [
    startCommand(setExit),
    checkCommand(setExit),
    demoCommand(setExit),
    passwdCommand(setExit),
  ]) {
    program.addCommand(cmd.exitOverride().showHelpAfterError('(run with --help for usage)'))
  }
  try {
    await program.parseAsync(argv)
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode
    throw err
  }
  return code
}
