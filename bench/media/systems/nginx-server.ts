// One nginx-rtmp server (packages/testing's NginxRtmp: one process, its conf
// in a temp folder) that can also be restarted, as the resume phase needs.
import { spawnSync } from 'node:child_process'
import { NGINX_PATH, NginxRtmp, type NginxRtmpOptions } from '@meshcast/testing'
import type { Server } from '../system.ts'

export class NginxServer implements Server {
  readonly #opts: NginxRtmpOptions & { name: string }
  #nginx: NginxRtmp

  private constructor(opts: NginxRtmpOptions & { name: string }, nginx: NginxRtmp) {
    this.#opts = opts
    this.#nginx = nginx
  }

  /** `application live { live on; }` and the `pull` relays, on host:1935. */
  static async start(opts: NginxRtmpOptions & { name: string }): Promise<NginxServer> {
    return new NginxServer(opts, await NginxRtmp.start(opts))
  }

  get name(): string {
    return this.#opts.name
  }

  get host(): string {
    return this.#opts.host
  }

  pid(): number {
    return this.#nginx.pid
  }

  rtmp(path: string): string {
    return `${this.#nginx.rtmpUrl}${path}`
  }

  flv(): null {
    return null
  }

  kill(): void {
    this.#nginx.kill('SIGKILL')
  }

  /** A fresh one with the same conf (an origin keeps nothing worth keeping across a crash). */
  async restart(): Promise<void> {
    await this.#nginx.stop()
    this.#nginx = await NginxRtmp.start(this.#opts)
  }

  async stop(): Promise<void> {
    await this.#nginx.stop()
  }

  /** The last lines of its error log, under its name. */
  report(): string {
    return this.#nginx.report(15)
  }
}

export function nginxVersions(): { nginx: string | null; rtmpModule: string | null } {
  const v = spawnSync(NGINX_PATH, ['-v'], { encoding: 'utf8' })
  if (v.error !== undefined) return { nginx: null, rtmpModule: null }
  const pkg = spawnSync('dpkg-query', ['-W', 'libnginx-mod-rtmp'], { encoding: 'utf8' })
  return {
    nginx: /nginx\/(\S+)/.exec(`${v.stderr}${v.stdout}`)?.[1] ?? null,
    rtmpModule: pkg.status === 0 ? (pkg.stdout.trim().split('\t')[1] ?? null) : null,
  }
}
