import { effectiveConfig } from '@meshcast/config'
import { ConfigError } from '@meshcast/interface'
import { Command } from 'commander'
import { checkCredentials, checkTls, securityPosture, securityWarnings } from '../security.ts'
import { addConfOptions, type ConfOptions, configFrom } from './options.ts'

/** `meshcast check`: exit 0 and print the effective config, or exit 1 and say why. */
export function checkCommand(setExit: (code: number) => void): Command {
  const cmd = new Command('check')
    .description(
      'validate the configuration (the credentials file and the TLS certificate too) and print the effective settings (password masked) and what is open, authenticated and encrypted',
    )
    .option('--json', 'print JSON instead of text')
  return addConfOptions(cmd).action((opts: ConfOptions & { json?: boolean }) => {
    try {
      const config = configFrom(opts)
      checkCredentials(config)
      checkTls(config)
      const warnings = [...config.warnings, ...securityWarnings(config)]
      const view = { ...effectiveConfig(config), security: securityPosture(config), warnings }
      console.log(opts.json === true ? JSON.stringify(view, null, 2) : describe(view))
      for (const warning of warnings) console.error(`warning: ${warning}`)
      setExit(0)
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err
      console.error(err.message)
      setExit(1)
    }
  })
}

function describe(view: Record<string, unknown>, indent = ''): string {
  const lines: string[] = []
  for (const [key, value] of Object.entries(view)) {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      lines.push(`${indent}${key}:`, describe(value as Record<string, unknown>, `${indent}  `))
    } else {
      lines.push(`${indent}${key}: ${Array.isArray(value) ? `[${value.join(', ')}]` : String(value)}`)
    }
  }
  return lines.join('\n')
}
