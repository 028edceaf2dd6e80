import { type ChildProcess, spawn } from 'node:child_process'
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { formatHost } from '@meshcast/interface'
import { inCi, type SkippableContext, skipOrFail, TestCluster } from './cluster.ts'
import { guarded } from './fixture.ts'
import { isListening } from './ports.ts'
import { waitFor } from './wait-for.ts'

/** Debian's nginx (`apt-get install nginx libnginx-mod-rtmp`); `MESHCAST_NGINX` names another binary. */
export const NGINX_PATH = process.env.MESHCAST_NGINX ?? '/usr/sbin/nginx'
/** Debian's nginx-rtmp module; `MESHCAST_NGINX_RTMP_MODULE` names another. */
export const NGINX_RTMP_MODULE =
  process.env.MESHCAST_NGINX_RTMP_MODULE ?? '/usr/lib/nginx/modules/ngx_rtmp_module.so'

/** How long a start may take until RTMP accepts connections. */
const START_TIMEOUT_MS = 10_000
/** How long `stop()` waits after SIGTERM before SIGKILL. */
const STOP_TIMEOUT_MS = 5000

/** Why nginx-rtmp cannot be started here, or null when it can. */
export function nginxRtmpMissing(): string | null {
  try {
    accessSync(NGINX_PATH, constants.X_OK)
  } catch {
    return `no nginx at ${NGINX_PATH} (apt-get install nginx libnginx-mod-rtmp, or set MESHCAST_NGINX)`
  }
  try {
    accessSync(NGINX_RTMP_MODULE, constants.R_OK)
    return null
  } catch {
    return `no nginx-rtmp module at ${NGINX_RTMP_MODULE} (apt-get install libnginx-mod-rtmp)`
  }
}

/** Skips the test with `reason`, or fails it in CI, where a skipped interop test would hide a broken runner. */
export function skipOrFailWithoutNginx(reason: string, t: SkippableContext, ci = inCi()): void {
  skipOrFail('nginx-rtmp', reason, t, ci)
}

export interface NginxRtmpOptions {
  /** loopback (or other) address to listen on */
  host: string
  /** RTMP port; 1935 */
  port?: number
  /** application name; `live` */
  app?: string
  /** `pull` relays: each URL (e.g. `rtmp://127.0.0.3:1935/live`) is asked for a stream nobody publishes here */
  pull?: readonly string[]
  /** more directives inside `application <app> { … }` */
  directives?: readonly string[]
  /** a name for reports */
  name?: string
  /** nginx's `worker_connections` (1024, its default); a benchmark with thousands of players needs more */
  workerConnections?: number
}

/** Every nginx still running; SIGKILLed if the test process exits first. */
const live = new Set<ChildProcess>()
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL')
})

/**
 * One nginx with the RTMP module in the foreground (`daemon off`), one
 * process (`master_process off`: a SIGKILL takes all of it, as a crashed
 * server), with a generated conf and prefix in a temp folder removed by
 * `stop()`. `application live { live on; }` plus the `pull` relays asked for.
 */
export class NginxRtmp {
  readonly name: string
  readonly host: string
  readonly port: number
  readonly child: ChildProcess
  /** resolves when the process has exited */
  readonly exited: Promise<void>
  readonly #dir: string
  #stopped: Promise<void> | null = null

  private constructor(opts: NginxRtmpOptions, dir: string) {
    this.name = opts.name ?? `nginx-rtmp ${opts.host}`
    this.host = opts.host
    this.port = opts.port ?? 1935
    this.#dir = dir
    const conf = join(dir, 'nginx.conf')
    writeFileSync(conf, nginxConf(opts, dir))
    this.child = spawn(NGINX_PATH, ['-c', conf, '-p', `${dir}/`, '-e', this.#errorLog], {
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    live.add(this.child)
    let stderr = ''
    this.child.stderr?.setEncoding('utf8').on('data', (text: string) => {
      stderr = (stderr + text).slice(-4000)
    })
    this.exited = new Promise((resolve) => {
      const gone = () => {
        live.delete(this.child)
        if (stderr !== '') writeFileSync(join(dir, 'stderr.log'), stderr)
        resolve()
      }
      this.child.once('exit', gone)
      this.child.once('error', gone) // not started at all: no 'exit' follows
    })
  }

  /** Starts nginx and waits until its RTMP port accepts connections; on failure it is cleaned up and its log is in the error. */
  static async start(opts: NginxRtmpOptions): Promise<NginxRtmp> {
    const port = opts.port ?? 1935
    // a listener already there would pass for this nginx, which then fails to bind and exits
    if (await isListening(opts.host, port))
      throw new Error(`cannot start nginx-rtmp: something already listens on ${opts.host}:${port}`)
    const dir = mkdtempSync(join(tmpdir(), 'meshcast-nginx-'))
    const nginx = new NginxRtmp(opts, dir)
    const exitedAtStart = new Error(`${nginx.name} exited at start`)
    try {
      await waitFor(
        async () => {
          if (!nginx.running) throw exitedAtStart
          return await isListening(nginx.host, nginx.port)
        },
        {
          timeout: START_TIMEOUT_MS,
          what: `${nginx.name} to listen on ${nginx.host}:${nginx.port}`,
          fatal: (err) => err === exitedAtStart,
        },
      )
    } catch (err) {
      const report = nginx.report()
      await nginx.stop()
      throw new Error(`${(err as Error).message}\n${report}`, { cause: err })
    }
    return nginx
  }

  get #errorLog(): string {
    return join(this.#dir, 'error.log')
  }

  /** `rtmp://host:port` */
  get rtmpUrl(): string {
    return `rtmp://${this.host}:${this.port}`
  }

  get pid(): number {
    return this.child.pid ?? -1
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null && this.child.pid !== undefined
  }

  /** Sends a signal (SIGKILL: a crash) if it still runs. */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.running) this.child.kill(signal)
  }

  /** nginx's error log (and what it printed), for a failure report. */
  report(lines = 60): string {
    const read = (file: string) => {
      try {
        return readFileSync(join(this.#dir, file), 'utf8')
      } catch {
        return ''
      }
    }
    const text = `${read('error.log')}${read('stderr.log')}`.split('\n').slice(-lines).join('\n')
    return `----- ${this.name} (pid ${this.pid}) -----\n${text}`
  }

  /** SIGTERM, SIGKILL after a while, then removes the conf folder; safe to call twice. */
  async stop(): Promise<void> {
    this.#stopped ??= (async () => {
      this.kill('SIGTERM')
      const timer = setTimeout(() => this.kill('SIGKILL'), STOP_TIMEOUT_MS)
      await this.exited
      clearTimeout(timer)
      rmSync(this.#dir, { recursive: true, force: true })
    })()
    await this.#stopped
  }
}

/** Address indexes of a `TestCluster` taken by nginx servers: far above any node's. */
const NGINX_FIRST_INDEX = 200

/** Starts nginx-rtmp servers for one test on the cluster's subnet; `stopAll` ends them. */
export class NginxServers {
  readonly servers: NginxRtmp[] = []
  readonly #cluster: TestCluster

  constructor(cluster: TestCluster) {
    this.#cluster = cluster
  }

  /** One more nginx, on the cluster's next free address beyond its nodes unless `host` is given. */
  async start(opts: Partial<NginxRtmpOptions> = {}): Promise<NginxRtmp> {
    const index = NGINX_FIRST_INDEX + this.servers.length
    const host = opts.host ?? this.#cluster.address(index)
    const nginx = await NginxRtmp.start({ name: `nginx-${this.servers.length}`, ...opts, host })
    this.servers.push(nginx)
    return nginx
  }

  report(): string {
    return this.servers.map((n) => n.report()).join('\n')
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.servers.map((n) => n.stop()))
  }
}

/**
 * Wraps a test body: a fresh `TestCluster` and a factory of nginx-rtmp
 * servers on its subnet; prints every node's log and every nginx's error
 * log when the body fails, and always stops both. Without nginx-rtmp the
 * test is skipped with the reason, or fails when `CI` is set.
 */
export function withNginxRtmp<T extends SkippableContext>(
  body: (cluster: TestCluster, nginx: NginxServers, t: T) => Promise<void>,
): (t: T) => Promise<void> {
  return async (t: T) => {
    const reason = nginxRtmpMissing()
    if (reason !== null) {
      skipOrFailWithoutNginx(reason, t)
      return
    }
    const cluster = new TestCluster()
    const nginx = new NginxServers(cluster)
    const fixture = {
      report: () => `${cluster.report()}\n${nginx.report()}`,
      teardown: async () => {
        await Promise.all([nginx.stopAll(), cluster.stopAll()])
      },
    }
    await guarded(t, fixture, () => body(cluster, nginx, t))
  }
}

/** The whole nginx.conf: rtmp module, foreground, one process, logs and pid under `dir`. */
function nginxConf(opts: NginxRtmpOptions, dir: string): string {
  const host = formatHost(opts.host)
  return [
    `load_module ${NGINX_RTMP_MODULE};`,
    'daemon off;',
    'master_process off;',
    'worker_processes 1;',
    `pid ${join(dir, 'nginx.pid')};`,
    `error_log ${join(dir, 'error.log')} info;`,
    `events { worker_connections ${opts.workerConnections ?? 1024}; }`,
    'rtmp {',
    '  server {',
    `    listen ${host}:${opts.port ?? 1935};`,
    `    application ${opts.app ?? 'live'} {`,
    '      live on;',
    ...(opts.pull ?? []).map((url) => `      pull ${url};`),
    ...(opts.directives ?? []).map((line) => `      ${line}`),
    '    }',
    '  }',
    '}',
    '',
  ].join('\n')
}
