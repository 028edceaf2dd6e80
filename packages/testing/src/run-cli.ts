import { spawn } from 'node:child_process'
import { nodeEnvironment } from './node-env.ts'
import { MESHCAST_BIN } from './node-process.ts'

export interface CliResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

export const DEFAULT_CLI_TIMEOUT_MS = 20_000

/** Runs `meshcast <args>` to completion (killed after `timeout` ms); `input` is its stdin (else none). */
export async function runCli(
  args: string[],
  opts: { cwd?: string; timeout?: number; env?: Record<string, string>; input?: string } = {},
): Promise<CliResult> {
  const child = spawn(process.execPath, [MESHCAST_BIN, ...args], {
    cwd: opts.cwd,
    // variables given are added to this process's own (less the harness's MESHCAST_* paths)
    env: nodeEnvironment(opts.env),
    stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  })
  if (opts.input !== undefined) child.stdin?.end(opts.input)
  let stdout = ''
  let stderr = ''
  child.stdout?.setEncoding('utf8').on('data', (t: string) => {
    stdout += t
  })
  child.stderr?.setEncoding('utf8').on('data', (t: string) => {
    stderr += t
  })
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeout ?? DEFAULT_CLI_TIMEOUT_MS)
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.once('close', (c, s) => resolve([c, s])),
  )
  clearTimeout(timer)
  return { code, signal, stdout, stderr }
}
