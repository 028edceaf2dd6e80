// node-media-server standalone, in its own process, as its bin/app.js runs it
// (minus the config file handling), with relay tasks added and removed
// through stdin as its REST API would (POST/DELETE /api/v1/relay).
import { readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { ForeignProcess, isListening, waitFor } from '@meshcast/testing'
import { errorText } from '../../lib.ts'
import { removeDir, tempDir } from '../children.ts'
import type { Server } from '../system.ts'

const HTTP_PORT = 8000

/** The node-media-server meshcast runs (packages/media's), resolved on first use. */
function nmsMain(): string {
  return createRequire(new URL('../../../packages/media/package.json', import.meta.url)).resolve(
    'node-media-server',
  )
}

export function nmsVersion(): string {
  const root = dirname(dirname(nmsMain()))
  return (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version
}

/** Runs in the child: NMS with the config from the environment, commands on stdin; stdin closing ends it. */
const SCRIPT = `'use strict'
const path = require('node:path')
process.chdir(process.env.NMS_DIR)
const NodeMediaServer = require(process.env.NMS_MAIN)
const logger = require(path.join(path.dirname(process.env.NMS_MAIN), 'core', 'logger.js'))
const config = JSON.parse(process.env.NMS_CONFIG)
const nms = new NodeMediaServer(config, path.join(process.cwd(), 'config.json'))
logger.level = 'info'
nms.run()
let buffered = ''
process.stdin.setEncoding('utf8').on('data', (text) => {
  buffered += text
  for (let i = buffered.indexOf('\\n'); i >= 0; i = buffered.indexOf('\\n')) {
    const line = buffered.slice(0, i)
    buffered = buffered.slice(i + 1)
    try {
      const cmd = JSON.parse(line)
      if (cmd.pull) nms.relayServer.addTask({ url: cmd.pull.url, streamPath: cmd.pull.streamPath, mode: 'pull' })
      if (cmd.unpull) nms.relayServer.removeTask(cmd.unpull)
    } catch (err) {
      console.log('bench command failed: ' + err.message)
    }
  }
})
process.stdin.on('end', () => process.exit(0))
`

export class NmsServer implements Server {
  readonly name: string
  readonly host: string
  readonly #dir: string
  #proc: ForeignProcess

  private constructor(name: string, host: string, dir: string) {
    this.name = name
    this.host = host
    this.#dir = dir
    this.#proc = this.#spawn()
  }

  static async start(name: string, host: string): Promise<NmsServer> {
    const dir = tempDir('meshcast-bench-nms-')
    writeFileSync(join(dir, 'nms-standalone.cjs'), SCRIPT)
    const nms = new NmsServer(name, host, dir)
    await nms.#ready()
    return nms
  }

  #spawn(): ForeignProcess {
    const config = {
      bind: this.host,
      notify: { url: '' },
      store: { path: join(this.#dir, 'data') },
      rtmp: { port: 1935 },
      http: { port: HTTP_PORT },
      webadmin: { enable: false },
      record: { auto: false, path: join(this.#dir, 'record') },
    }
    const proc = new ForeignProcess([process.execPath, join(this.#dir, 'nms-standalone.cjs')], {
      env: { NMS_DIR: this.#dir, NMS_MAIN: nmsMain(), NMS_CONFIG: JSON.stringify(config) },
      stdin: true,
    })
    proc.child.stdin?.on('error', () => {}) // the process may be gone
    return proc
  }

  async #ready(): Promise<void> {
    const proc = this.#proc
    await waitFor(
      async () => {
        if (!proc.running) throw new Error(`${this.name} exited: ${proc.tail(15)}`)
        for (const port of [1935, HTTP_PORT]) if (!(await isListening(this.host, port, 500))) return undefined
        return true
      },
      {
        timeout: 15_000,
        interval: 25,
        what: `${this.name} to listen`,
        fatal: (e) => errorText(e).includes('exited'),
      },
    )
  }

  pid(): number {
    return this.#proc.child.pid ?? -1
  }

  rtmp(path: string): string {
    return `rtmp://${this.host}:1935${path}`
  }

  flv(path: string): string {
    return `http://${this.host}:${HTTP_PORT}${path}.flv`
  }

  /** Adds a relay task pulling `url` into `path` (reconnecting, NMS's defaults). */
  pull(url: string, path: string): void {
    this.#proc.write(`${JSON.stringify({ pull: { url, streamPath: path } })}\n`)
  }

  unpull(path: string): void {
    this.#proc.write(`${JSON.stringify({ unpull: path })}\n`)
  }

  kill(): void {
    if (this.#proc.running) this.#proc.child.kill('SIGKILL')
  }

  /** Starts it again in the same folder (a killed one is just replaced; its persisted relay tasks come back). */
  async restart(): Promise<void> {
    await this.#proc.stop('SIGTERM')
    this.#proc = this.#spawn()
    await this.#ready()
  }

  async stop(): Promise<void> {
    this.#proc.child.stdin?.end()
    await this.#proc.stop('SIGTERM')
    removeDir(this.#dir)
  }

  /** The last lines it printed, named. */
  report(): string {
    return `${this.name}: ${this.tail()}`
  }

  tail(n = 15): string {
    return this.#proc.tail(n)
  }
}
