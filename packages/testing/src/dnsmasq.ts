import { type ChildProcess, spawn } from 'node:child_process'
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inCi, type SkippableContext, skipOrFail } from './cluster.ts'
import type { NetnsLan } from './netns.ts'
import { waitFor } from './wait-for.ts'

/** Debian's dnsmasq (`apt-get install dnsmasq`); `MESHCAST_DNSMASQ` names another binary. */
export const DNSMASQ_PATH = process.env.MESHCAST_DNSMASQ ?? '/usr/sbin/dnsmasq'

/** How long a start, or a reload, may take until dnsmasq has read its records. */
const READ_TIMEOUT_MS = 10_000
/** How long `stop()` waits after SIGTERM before SIGKILL. */
const STOP_TIMEOUT_MS = 5000

/** Why dnsmasq cannot be run here, or null when it can. */
export function dnsmasqMissing(): string | null {
  try {
    accessSync(DNSMASQ_PATH, constants.X_OK)
    return null
  } catch {
    return `no dnsmasq at ${DNSMASQ_PATH} (apt-get install dnsmasq, or set MESHCAST_DNSMASQ)`
  }
}

/** Skips the test with `reason`, or fails it in CI, where a skipped DNS test would hide a broken runner. */
export function skipOrFailWithoutDnsmasq(reason: string, t: SkippableContext, ci = inCi()): void {
  skipOrFail('dnsmasq', reason, t, ci)
}

/** name → the addresses it has (each an A or AAAA record) */
export type DnsRecords = Readonly<Record<string, readonly string[]>>

/** Every dnsmasq still running; SIGKILLed if the test process exits first. */
const live = new Set<ChildProcess>()
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL')
})

/** dnsmasq's line for each reading of the records file. */
const READ_LINE = /read \S+ - \d+ (?:names|addresses)/g

/**
 * A DNS server for one test: dnsmasq in the foreground inside a LAN host's
 * namespace, answering on that host's address (port 53) from a hosts file
 * of its own and nothing else (no upstream servers, no `/etc/hosts`).
 * `setRecords` rewrites the file and reloads it (SIGHUP). The folder goes
 * with `stop()`; what runs in the namespace goes with the LAN anyway.
 */
export class Dnsmasq {
  /** where it answers */
  readonly address: string
  readonly child: ChildProcess
  readonly exited: Promise<void>
  readonly #dir: string
  #log = ''
  #stopped: Promise<void> | null = null

  private constructor(lan: NetnsLan, host: number, dir: string) {
    this.address = lan.address(host)
    this.#dir = dir
    const argv = lan.wrap(host, [
      DNSMASQ_PATH,
      '--no-daemon',
      '--conf-file=/dev/null',
      '--no-resolv',
      '--no-hosts',
      `--addn-hosts=${this.#hostsFile}`,
      `--listen-address=${this.address}`,
      '--bind-interfaces',
      '--port=53',
      '--user=root',
      '--group=root',
      '--pid-file=',
      '--log-queries',
      '--log-facility=-',
    ])
    this.child = spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] })
    live.add(this.child)
    const keep = (text: string) => {
      this.#log = (this.#log + text).slice(-20_000)
    }
    this.child.stdout?.setEncoding('utf8').on('data', keep)
    this.child.stderr?.setEncoding('utf8').on('data', keep)
    this.exited = new Promise((resolve) => {
      const gone = () => {
        live.delete(this.child)
        resolve()
      }
      this.child.once('exit', gone)
      this.child.once('error', gone)
    })
  }

  /** Starts dnsmasq on LAN host `host` with `records`, once it has read them. */
  static async start(lan: NetnsLan, host: number, records: DnsRecords): Promise<Dnsmasq> {
    const dir = mkdtempSync(join(tmpdir(), 'meshcast-dnsmasq-'))
    writeFileSync(join(dir, 'hosts'), hostsText(records))
    const dns = new Dnsmasq(lan, host, dir)
    try {
      await dns.#readTimes(1)
    } catch (err) {
      await dns.stop()
      throw err
    }
    return dns
  }

  get #hostsFile(): string {
    return join(this.#dir, 'hosts')
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null && this.child.pid !== undefined
  }

  /** Replaces the records and waits until dnsmasq has read them again. */
  async setRecords(records: DnsRecords): Promise<void> {
    const before = this.#reads()
    writeFileSync(this.#hostsFile, hostsText(records))
    this.child.kill('SIGHUP')
    await this.#readTimes(before + 1)
  }

  /** What dnsmasq logged (the queries too), for a failure report. */
  report(lines = 60): string {
    return `----- dnsmasq on ${this.address} (pid ${this.child.pid}) -----\n${this.#log.split('\n').slice(-lines).join('\n')}`
  }

  /** SIGTERM, SIGKILL after a while, then removes its folder; safe to call twice. */
  async stop(): Promise<void> {
    this.#stopped ??= (async () => {
      if (this.running) this.child.kill('SIGTERM')
      const timer = setTimeout(() => {
        if (this.running) this.child.kill('SIGKILL')
      }, STOP_TIMEOUT_MS)
      await this.exited
      clearTimeout(timer)
      rmSync(this.#dir, { recursive: true, force: true })
    })()
    await this.#stopped
  }

  #reads(): number {
    return this.#log.match(READ_LINE)?.length ?? 0
  }

  async #readTimes(n: number): Promise<void> {
    const exited = new Error('dnsmasq exited')
    try {
      await waitFor(
        () => {
          if (!this.running) throw exited
          return this.#reads() >= n || undefined
        },
        {
          timeout: READ_TIMEOUT_MS,
          interval: 20,
          what: 'dnsmasq to read its records',
          fatal: (e) => e === exited,
        },
      )
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${this.report()}`, { cause: err })
    }
  }
}

function hostsText(records: DnsRecords): string {
  const lines: string[] = []
  for (const [name, addresses] of Object.entries(records))
    for (const a of addresses) lines.push(`${a} ${name}`)
  return `${lines.join('\n')}\n`
}
