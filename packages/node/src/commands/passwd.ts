import { createInterface } from 'node:readline'
import { DEFAULT_SCRYPT, hashPassword, MAX_PASSWORD, MAX_USERNAME } from '@meshcast/auth'
import { Command, InvalidArgumentError } from 'commander'

/** A user name the credentials file can hold unescaped. */
const USERNAME = /^[^\s=:#!\\]+$/

/**
 * `meshcast passwd <username>`: a line for the credentials file, the
 * password hashed (scrypt, PHC string). The password comes from stdin: typed
 * at a prompt without echo, or piped (one line).
 */
export function passwdCommand(setExit: (code: number) => void): Command {
  return new Command('passwd')
    .description(
      'print a credentials-file line (username=$scrypt$…) for a password read from stdin (prompted without echo on a terminal)',
    )
    .argument('<username>', 'the user name', (value: string) => {
      if (!USERNAME.test(value) || value.length > MAX_USERNAME)
        throw new InvalidArgumentError(
          `use at most ${MAX_USERNAME} characters, without spaces, = : # ! or \\`,
        )
      return value
    })
    .option(
      '--ln <n>',
      `scrypt cost, log2 of N (${DEFAULT_SCRYPT.ln}: 16 MiB a check; 17: OWASP's floor)`,
      (v: string) => {
        const n = Number(v)
        if (!Number.isInteger(n) || n < 10 || n > 18)
          throw new InvalidArgumentError('use a whole number from 10 to 18')
        return n
      },
    )
    .action(async (username: string, opts: { ln?: number }) => {
      const password = await readPassword()
      if (password === '' || password.length > MAX_PASSWORD) {
        console.error(`meshcast passwd: the password must have 1 to ${MAX_PASSWORD} characters`)
        setExit(1)
        return
      }
      const hash = await hashPassword(password, {
        ...DEFAULT_SCRYPT,
        ...(opts.ln === undefined ? {} : { ln: opts.ln }),
      })
      console.log(`${username}=${hash}`)
      setExit(0)
    })
}

/** One line from stdin; on a terminal, asked for without echoing what is typed. */
async function readPassword(): Promise<string> {
  const input = process.stdin
  if (!input.isTTY) {
    let text = ''
    for await (const chunk of input) text += chunk
    return text.replace(/\r?\n$/, '')
  }
  process.stderr.write('password: ')
  const rl = createInterface({ input, terminal: true })
  // the prompt is written above; nothing typed is echoed
  ;(rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = () => undefined
  const line = await new Promise<string>((resolve) => rl.once('line', resolve))
  rl.close()
  process.stderr.write('\n')
  return line
}
