import { ConfigError, type ConfigProblem, LineIndex } from '@meshcast/interface'
import { Pair, parseLines } from 'dot-properties'
import { parseScryptHash, SCRYPT_PREFIX, type ScryptHash } from './password-hash.ts'

/** Longest user name and password accepted (in the file and from clients). */
export const MAX_USERNAME = 128
export const MAX_PASSWORD = 1024

/** One user's secret: the password as written, or its scrypt hash. */
export type Secret = { kind: 'plain'; password: string } | { kind: 'scrypt'; hash: ScryptHash }

/**
 * Reads a Simple Authentication credentials file: Java properties, one
 * `username=password` per line (`#` and `!` start comments), a password
 * starting with `$scrypt$` is a hash. Throws one ConfigError naming the file
 * and line of every problem; a problem never quotes a password.
 */
export function parseCredentials(text: string, file: string): Map<string, Secret> {
  const users = new Map<string, Secret>()
  const firstLine = new Map<string, number>()
  const problems: ConfigProblem[] = []
  const lines = new LineIndex(text)
  for (const node of parseLines(text, true)) {
    if (!(node instanceof Pair)) continue
    const line = lines.lineAt(node.range?.[0] ?? 0)
    const { key: username, value } = node
    const problem = (message: string) => problems.push({ file, line, property: username, message })
    if (username === '' || username.length > MAX_USERNAME || /[\s\0]/.test(username)) {
      problems.push({
        file,
        line,
        message: `has a user name that is empty, longer than ${MAX_USERNAME} or holds spaces`,
      })
      continue
    }
    const seen = firstLine.get(username)
    if (seen !== undefined) {
      problem(`is listed more than once (lines ${seen} and ${line}): keep one`)
      continue
    }
    firstLine.set(username, line)
    if (value === '') problem('has no password: write username=password')
    else if (value.length > MAX_PASSWORD) problem(`has a password longer than ${MAX_PASSWORD} characters`)
    else if (value.startsWith(SCRYPT_PREFIX)) {
      try {
        users.set(username, { kind: 'scrypt', hash: parseScryptHash(value) })
      } catch (err) {
        problem(`has a password hash that ${(err as Error).message}`)
      }
    } else users.set(username, { kind: 'plain', password: value })
  }
  if (problems.length > 0) throw new ConfigError(problems)
  return users
}
