import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process'
import { randomBytes, randomInt } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const execFileAsync = promisify(execFile)

/** Every name a NetnsLan makes starts with this. */
export const NETNS_PREFIX = 'mc-'
/** A /24 holds hosts .2 to .254. */
export const MAX_LAN_HOSTS = 253
export const COMMAND_TIMEOUT_MS = 10_000
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000
export const DEFAULT_LAN_FETCH_TIMEOUT_MS = 5_000
/** How long `destroy` waits for killed processes to leave a namespace. */
export const KILL_WAIT_MS = 5_000
const AGENT_READY_TIMEOUT_MS = 10_000

/** iproute2's `ip` and `tc`, found on PATH. */
const IP = 'ip'
const TC = 'tc'
/** nftables' `nft` (loss) */
const NFT = 'nft'
/** `mc-<id>-<pid>…` (a namespace): the pid of the process that made it. */
const OWNED_NAMESPACE = /^mc-[0-9a-z]+-(\d+)(?:-|$)/
/** `mc-<id>-<pid>-XXXXXX` (a relay socket folder in the temp dir). */
const OWNED_DIR = /^mc-[0-9a-f]{4}-(\d+)-/
const AGENT = join(dirname(fileURLToPath(import.meta.url)), 'netns-agent.js')
const WAN_FORWARDER = join(dirname(fileURLToPath(import.meta.url)), 'wan-forwarder.py')

/** A command that failed: which one, how, and what it printed on stderr. */
export class CommandError extends Error {
  readonly argv: string[]
  readonly stderr: string
  readonly exitCode: number | string | null

  constructor(argv: string[], stderr: string, exitCode: number | string | null, cause?: unknown) {
    const why = stderr.trim() !== '' ? stderr.trim() : cause instanceof Error ? cause.message : 'no output'
    super(`\`${argv.join(' ')}\` failed (exit ${exitCode}): ${why}`, { cause })
    this.name = 'CommandError'
    this.argv = argv
    this.stderr = stderr
    this.exitCode = exitCode
  }
}

/** Runs a command (no shell) and resolves with its stdout; rejects with a CommandError. */
async function run(argv: string[]): Promise<string> {
  const [file, ...args] = argv
  if (file === undefined) throw new RangeError('empty command')
  try {
    const { stdout } = await execFileAsync(file, args, { encoding: 'utf8', timeout: COMMAND_TIMEOUT_MS })
    return stdout
  } catch (err) {
    const e = err as { stderr?: string; code?: number | string; signal?: string | null }
    throw new CommandError(argv, e.stderr ?? '', e.code ?? e.signal ?? null, err)
  }
}

async function ip(...args: string[]): Promise<string> {
  return await run([IP, ...args])
}

/** `ip` complaining that the namespace or link is already gone. */
function isMissing(err: unknown): boolean {
  return err instanceof CommandError && /No such file|Cannot find device|does not exist/i.test(err.stderr)
}

async function listNamespaces(): Promise<string[]> {
  const out = await ip('netns', 'list')
  return out
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => name !== '')
}

/** Pids of the processes in a namespace (none if it is gone). */
async function namespacePids(ns: string): Promise<number[]> {
  try {
    const out = await ip('netns', 'pids', ns)
    return out
      .split(/\s+/)
      .filter((p) => p !== '')
      .map(Number)
      .filter((pid) => pid !== process.pid)
  } catch (err) {
    if (isMissing(err)) return []
    throw err
  }
}

/** SIGKILLs everything in the namespace and waits until it has all gone. */
async function killAllIn(ns: string): Promise<void> {
  const deadline = Date.now() + KILL_WAIT_MS
  for (;;) {
    const pids = await namespacePids(ns)
    if (pids.length === 0) return
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // already gone
      }
    }
    if (Date.now() > deadline) throw new Error(`processes ${pids.join(', ')} in ${ns} survive SIGKILL`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

async function deleteNamespace(ns: string): Promise<void> {
  try {
    await ip('netns', 'delete', ns)
  } catch (err) {
    if (!isMissing(err)) throw err
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Where `ip netns exec` finds a namespace's own files: it bind-mounts
 * `/etc/netns/<ns>/resolv.conf` over `/etc/resolv.conf` for what it runs.
 * `ip netns delete` leaves the folder behind: the LAN removes it.
 */
export const NETNS_ETC = '/etc/netns'

function removeEtc(ns: string): void {
  rmSync(join(NETNS_ETC, ns), { recursive: true, force: true })
}

/** Best-effort synchronous teardown for the exit hook: kill, then delete. */
function teardownSync(namespaces: Iterable<string>, dir: string | undefined): void {
  const names = [...namespaces]
  for (const ns of names) removeEtc(ns)
  for (const ns of names) {
    try {
      const out = execFileSync(IP, ['netns', 'pids', ns], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      })
      for (const pid of out.split(/\s+/).filter((p) => p !== '')) {
        if (Number(pid) !== process.pid) process.kill(Number(pid), 'SIGKILL')
      }
    } catch {
      // gone, or the process went first
    }
  }
  for (const ns of names) {
    try {
      execFileSync(IP, ['netns', 'delete', ns], { stdio: 'ignore' })
    } catch {
      // gone
    }
  }
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
}

// ---- exit hook: LANs still standing when the process exits or is signalled ----

const live = new Set<NetnsLan>()
const FATAL_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP']

function destroyAllSync(): void {
  for (const lan of live) lan.destroySync()
  live.clear()
}

function onSignal(signal: NodeJS.Signals): void {
  destroyAllSync()
  unhook()
  // if nobody else handles it, die of it as we would have without this hook
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal)
}

function hook(): void {
  process.on('exit', destroyAllSync)
  for (const signal of FATAL_SIGNALS) process.on(signal, onSignal)
}

function unhook(): void {
  process.off('exit', destroyAllSync)
  for (const signal of FATAL_SIGNALS) process.off(signal, onSignal)
}

function track(lan: NetnsLan): void {
  if (live.size === 0) hook()
  live.add(lan)
}

function untrack(lan: NetnsLan): void {
  if (live.delete(lan) && live.size === 0) unhook()
}

// ---- the LAN ----

export interface NetnsLanOptions {
  /** the /24 as its first three octets, e.g. `10.44.7`; default a random `10.a.b` */
  subnet?: string
}

/** What `fetch` sends; the body is buffered. */
export interface LanFetchInit {
  method?: string
  headers?: Record<string, string>
  body?: string | Uint8Array
  /** give up after this long (ms), connect included; default 5 s */
  timeout?: number
}

interface Host {
  ns: string
  /** the bridge-side end of the host's veth, in the hub namespace */
  port: string
  address: string
  up: boolean
  /** which bridge (partition group) the port is on */
  bridge: number
}

interface Agent {
  child: ChildProcess
  path: string
}

const usedIds = new Set<string>()
let availability: Promise<string | null> | undefined

function uniqueId(): string {
  for (;;) {
    const id = randomBytes(2).toString('hex')
    if (!usedIds.has(id)) {
      usedIds.add(id)
      return id
    }
  }
}

/**
 * A LAN of network namespaces: host i is namespace `mc-<id>-<pid>-h<i>`, its
 * `eth0` holding `<subnet>.(i+2)/24` (with `lo` up and a 224.0.0.0/4 route, so
 * multicast such as mDNS works), wired by a veth pair to one Linux bridge in a
 * hub namespace `mc-<id>-<pid>-hub`. Nothing lives in the root namespace:
 * the test process reaches hosts through `connect`/`fetch` (a small relay in
 * the host's namespace) and runs commands in them with `wrap`.
 */
export class NetnsLan {
  /** short random id of this LAN, part of every name it makes */
  readonly id: string
  /** `mc-<id>-<pid>`: the prefix of its namespace names */
  readonly tag: string
  /** the namespace holding the bridge(s) */
  readonly hub: string
  /** first three octets of the LAN's /24 */
  readonly subnet: string
  readonly #hosts: Host[] = []
  /** every namespace this LAN has asked for, made or not */
  readonly #namespaces = new Set<string>()
  readonly #bridges = new Set<number>()
  readonly #agents = new Map<number, Promise<Agent>>()
  readonly #forwards = new Set<net.Server>()
  readonly #forwarded = new Set<net.Socket>()
  #dir: string | undefined
  #queue: Promise<unknown> = Promise.resolve()
  #destroyed: Promise<void> | undefined
  /** the forwarder between the two bridges of `wan`, and its TAP devices */
  #wan: { child: ChildProcess; taps: readonly string[] } | null = null

  private constructor(opts: NetnsLanOptions) {
    this.id = uniqueId()
    this.tag = `${NETNS_PREFIX}${this.id}-${process.pid}`
    this.hub = `${this.tag}-hub`
    this.subnet = opts.subnet ?? `10.${randomInt(0, 256)}.${randomInt(0, 256)}`
    if (!/^\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(this.subnet)) throw new RangeError(`bad subnet ${this.subnet}`)
  }

  /**
   * Null when this process can build LANs (Linux, root, `ip` present, and a
   * namespace with a bridge and a veth pair can be made), else why not.
   */
  static async available(): Promise<string | null> {
    availability ??= probe()
    return await availability
  }

  /** Sweeps stale namespaces, then builds the hub and `hostCount` hosts. */
  static async create(hostCount: number, opts: NetnsLanOptions = {}): Promise<NetnsLan> {
    if (!Number.isInteger(hostCount) || hostCount < 0 || hostCount > MAX_LAN_HOSTS) {
      throw new RangeError(`host count ${hostCount} outside 0..${MAX_LAN_HOSTS}`)
    }
    await NetnsLan.sweepStale()
    const lan = new NetnsLan(opts)
    track(lan)
    try {
      await lan.#addNamespace(lan.hub)
      await lan.#addBridge(0)
      const hosts = await Promise.all(Array.from({ length: hostCount }, (_, i) => lan.#makeHost(i)))
      lan.#hosts.push(...hosts)
    } catch (err) {
      await lan.destroy().catch(() => {})
      throw err
    }
    return lan
  }

  /**
   * Deletes `mc-*` namespaces (and relay socket folders) whose creating pid,
   * read from the name, is no longer alive, killing whatever still runs in
   * them. Resolves with the namespaces it removed.
   */
  static async sweepStale(): Promise<string[]> {
    const removed: string[] = []
    for (const ns of await listNamespaces()) {
      const pid = Number(OWNED_NAMESPACE.exec(ns)?.[1] ?? Number.NaN)
      if (Number.isNaN(pid) || pidAlive(pid)) continue
      try {
        await killAllIn(ns)
        await deleteNamespace(ns)
        removed.push(ns)
      } catch (err) {
        // a stale namespace that will not go must not fail the test at hand
        process.stderr.write(`netns: cannot remove stale namespace ${ns}: ${(err as Error).message}\n`)
      }
    }
    if (existsSync(NETNS_ETC))
      for (const ns of readdirSync(NETNS_ETC)) {
        const pid = Number(OWNED_NAMESPACE.exec(ns)?.[1] ?? Number.NaN)
        if (!Number.isNaN(pid) && !pidAlive(pid)) removeEtc(ns)
      }
    for (const name of readdirSync(tmpdir())) {
      const pid = Number(OWNED_DIR.exec(name)?.[1] ?? Number.NaN)
      if (!Number.isNaN(pid) && !pidAlive(pid)) rmSync(join(tmpdir(), name), { recursive: true, force: true })
    }
    return removed
  }

  get hostCount(): number {
    return this.#hosts.length
  }

  /** Host i's address on the LAN. */
  address(i: number): string {
    return this.#host(i).address
  }

  /** Host i's namespace name. */
  namespace(i: number): string {
    return this.#host(i).ns
  }

  /** The argv that runs `argv` inside host i's namespace (`ip netns exec` execs it: same pid). */
  wrap(i: number, argv: string[]): string[] {
    return [IP, 'netns', 'exec', this.namespace(i), ...argv]
  }

  /**
   * Makes what runs in host i's namespace from now on resolve names through
   * `nameservers` (its own `resolv.conf`, which `ip netns exec` mounts over
   * `/etc/resolv.conf`); removed with the LAN.
   */
  useNameservers(i: number, nameservers: readonly string[]): void {
    this.#checkAlive()
    const dir = join(NETNS_ETC, this.namespace(i))
    mkdirSync(dir, { recursive: true })
    const lines = [...nameservers.map((n) => `nameserver ${n}`), 'options timeout:1 attempts:2', '']
    writeFileSync(join(dir, 'resolv.conf'), lines.join('\n'))
  }

  /** Whether host i's link is up (not `linkDown`). */
  isUp(i: number): boolean {
    return this.#host(i).up
  }

  /** Adds one host on the main bridge; resolves with its index. */
  async addHost(): Promise<number> {
    this.#checkAlive()
    const adding = this.#queue.then(async () => {
      const index = this.#hosts.length
      this.#hosts.push(await this.#makeHost(index))
      return index
    })
    this.#queue = adding.catch(() => {})
    return await adding
  }

  /** Takes host i's bridge-side veth down: its eth0 loses carrier, as with a pulled cable. */
  async linkDown(i: number): Promise<void> {
    await this.#setLink(i, false)
  }

  async linkUp(i: number): Promise<void> {
    await this.#setLink(i, true)
  }

  /**
   * Caps what host i receives at `rate` (tc's units: `8mbit`), with a token
   * bucket (`tbf`, as this kernel has no netem) on the bridge side of its
   * link; what does not fit waits up to `latencyMs`, then is dropped. `null`
   * takes the cap off.
   */
  async limit(i: number, rate: string | null, latencyMs = 200): Promise<void> {
    this.#checkAlive()
    const port = this.#host(i).port
    if (rate === null) {
      try {
        await run([TC, '-n', this.hub, 'qdisc', 'del', 'dev', port, 'root'])
      } catch (err) {
        if (!(err instanceof CommandError && /No such file|Cannot find|handle of zero/i.test(err.stderr)))
          throw err
      }
      return
    }
    if (!/^\d+(\.\d+)?[kmg]?bit$/.test(rate)) throw new RangeError(`bad rate ${rate}: say e.g. 8mbit`)
    const args = ['qdisc', 'replace', 'dev', port, 'root', 'tbf', 'rate', rate, 'burst', '32kbit']
    await run([TC, '-n', this.hub, ...args, 'latency', `${latencyMs}ms`])
  }

  /**
   * Drops `percent` of the packets host i receives, at random (an nftables
   * rule in its namespace: real packet loss that TCP must recover from, as
   * this kernel has no netem). `null` takes the rule off.
   */
  async loss(i: number, percent: number | null): Promise<void> {
    this.#checkAlive()
    const ns = this.#host(i).ns
    const table = ['inet', 'mcloss']
    const nft = (...args: string[]) => run([IP, 'netns', 'exec', ns, NFT, ...args])
    try {
      await nft('delete', 'table', ...table)
    } catch (err) {
      if (!(err instanceof CommandError && /No such file/i.test(err.stderr))) throw err
    }
    if (percent === null) return
    if (!(Number.isInteger(percent) && percent > 0 && percent < 100))
      throw new RangeError(`loss ${percent}: a whole percentage from 1 to 99`)
    await nft('add', 'table', ...table)
    await nft('add', 'chain', ...table, 'in', '{ type filter hook input priority 0; }')
    await nft('add', 'rule', ...table, 'in', 'numgen', 'random', 'mod', '100', '<', String(percent), 'drop')
  }

  /**
   * Splits the LAN: each group's hosts get a bridge of their own (group 0 keeps
   * the main one), so hosts reach only their own group, multicast included.
   * Every host must be in exactly one group. Link up/down states are kept.
   */
  async partition(groups: number[][]): Promise<void> {
    this.#checkAlive()
    const seen = new Set<number>()
    for (const group of groups) {
      for (const i of group) {
        this.#host(i)
        if (seen.has(i)) throw new RangeError(`host ${i} is in more than one group`)
        seen.add(i)
      }
    }
    const missing = this.#hosts.map((_, i) => i).filter((i) => !seen.has(i))
    if (missing.length > 0) throw new RangeError(`partition leaves out host(s) ${missing.join(', ')}`)
    for (const [g, group] of groups.entries()) {
      if (!this.#bridges.has(g)) await this.#addBridge(g)
      for (const i of group) await this.#attach(i, g)
    }
  }

  /**
   * Two regions joined by a WAN: each group's hosts get a bridge of their own
   * (as `partition`), and a forwarder in user space (`wan-forwarder.py`: this
   * kernel has no sch_netem) copies every frame between the two bridges after
   * `delayMs` plus up to `jitterMs` (uniform), dropping `loss` (0 to 1) of
   * them. Each direction keeps its order and losses are independent: no
   * reordering, no bursts. One L2 network still (ARP, mDNS cross it, delayed).
   * `heal` takes the WAN down with the partition.
   */
  async wan(
    groups: [number[], number[]],
    link: { delayMs: number; jitterMs?: number; loss?: number; seed?: number },
  ): Promise<void> {
    this.#checkAlive()
    if (this.#wan !== null) throw new Error('a WAN is up already: heal first')
    const loss = link.loss ?? 0
    if (!(link.delayMs >= 0 && loss >= 0 && loss < 1)) throw new RangeError('delay ≥ 0 ms, loss in [0, 1)')
    await this.partition(groups)
    const taps = [`${NETNS_PREFIX}${this.id}-wa`, `${NETNS_PREFIX}${this.id}-wb`] as const
    for (const [g, tap] of taps.entries()) {
      await ip('-n', this.hub, 'tuntap', 'add', 'dev', tap, 'mode', 'tap')
      await ip('-n', this.hub, 'link', 'set', 'dev', tap, 'addrgenmode', 'none')
      await ip('-n', this.hub, 'link', 'set', 'dev', tap, 'master', this.#bridgeName(g), 'up')
    }
    const child = spawn(
      IP,
      [
        'netns',
        'exec',
        this.hub,
        'python3',
        WAN_FORWARDER,
        ...taps,
        String(link.delayMs),
        String(link.jitterMs ?? 0),
        String(loss),
        String(link.seed ?? 1),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    this.#wan = { child, taps }
    await new Promise<void>((resolve, reject) => {
      let stderr = ''
      const timer = setTimeout(
        () => reject(new Error(`the WAN forwarder did not start: ${stderr}`)),
        AGENT_READY_TIMEOUT_MS,
      )
      child.stderr?.on('data', (d: Buffer) => {
        stderr += d.toString()
      })
      child.stdout?.once('data', () => {
        clearTimeout(timer)
        resolve()
      })
      child.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`the WAN forwarder exited (${code}): ${stderr}`))
      })
    })
  }

  /** Every host back on the main bridge with its link up (and a WAN taken down). */
  async heal(): Promise<void> {
    if (this.#wan !== null) {
      const { child, taps } = this.#wan
      this.#wan = null
      child.kill('SIGTERM')
      for (const tap of taps) await ip('-n', this.hub, 'link', 'del', 'dev', tap).catch(() => {})
    }
    this.#checkAlive()
    for (const [i, host] of this.#hosts.entries()) {
      await this.#attach(i, 0)
      if (!host.up) await this.#setLink(i, true)
    }
  }

  /**
   * A TCP connection to host:port opened from inside host `from` (through a
   * relay process started there on first use). Rejects with the errno code
   * (`ECONNREFUSED`, `EHOSTUNREACH`, `ETIMEDOUT`…) as `code` when it cannot connect.
   */
  async connect(
    from: number,
    host: string,
    port: number,
    timeout = DEFAULT_CONNECT_TIMEOUT_MS,
  ): Promise<net.Socket> {
    const { path } = await this.#agent(from)
    return await new Promise<net.Socket>((resolve, reject) => {
      const socket = net.connect(path)
      let head = Buffer.alloc(0)
      const fail = (err: Error) => {
        socket.destroy()
        reject(err)
      }
      const onError = (err: Error) => fail(new Error(`host ${from}: relay failed: ${err.message}`))
      const onEnd = () => fail(new Error(`host ${from}: relay closed before answering`))
      const onReadable = () => {
        for (let chunk = socket.read() as Buffer | null; chunk !== null; chunk = socket.read()) {
          head = Buffer.concat([head, chunk])
          const newline = head.indexOf(10)
          if (newline < 0) continue
          socket.off('readable', onReadable).off('error', onError).off('end', onEnd)
          const answer = head.subarray(0, newline).toString('utf8')
          const rest = head.subarray(newline + 1)
          if (answer === 'ok') {
            if (rest.length > 0) socket.unshift(rest)
            resolve(socket)
          } else {
            const code = answer.replace(/^err /, '')
            const err = new Error(`host ${from}: cannot connect to ${host}:${port}: ${code}`)
            fail(Object.assign(err, { code }))
          }
          return
        }
      }
      socket.on('readable', onReadable).on('error', onError).on('end', onEnd)
      socket.write(`${host} ${port} ${timeout}\n`)
    })
  }

  /** An HTTP request made from inside host `from` (http: only), its body buffered. */
  async fetch(from: number, url: string | URL, init: LanFetchInit = {}): Promise<Response> {
    const target = new URL(url)
    if (target.protocol !== 'http:') throw new RangeError(`only http: URLs, not ${target.href}`)
    const host = target.hostname.replace(/^\[|\]$/g, '')
    const port = Number(target.port === '' ? 80 : target.port)
    const timeout = init.timeout ?? DEFAULT_LAN_FETCH_TIMEOUT_MS
    return await new Promise<Response>((resolve, reject) => {
      const req = http.request(
        {
          method: init.method ?? 'GET',
          host,
          port,
          path: `${target.pathname}${target.search}`,
          headers: { connection: 'close', ...init.headers },
          createConnection: (_opts, done) => {
            this.connect(from, host, port, timeout).then(
              (socket) => done(null, socket),
              (err: Error) => done(err, undefined as unknown as net.Socket),
            )
            return undefined
          },
        },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (chunk: Buffer) => chunks.push(chunk))
          res.once('error', reject)
          res.once('end', () => {
            clearTimeout(timer)
            const headers = new Headers()
            for (const [key, value] of Object.entries(res.headers)) {
              for (const v of Array.isArray(value) ? value : [value ?? '']) headers.append(key, v)
            }
            const status = res.statusCode ?? 0
            const body = [101, 204, 205, 304].includes(status) ? null : Buffer.concat(chunks)
            resolve(new Response(body, { status, statusText: res.statusMessage ?? '', headers }))
          })
        },
      )
      const timer = setTimeout(
        () => req.destroy(new Error(`host ${from}: ${init.method ?? 'GET'} ${target.href} timed out`)),
        timeout,
      )
      req.once('error', (err) => {
        clearTimeout(timer)
        reject(err)
      })
      req.end(init.body)
    })
  }

  /**
   * A loopback port of the test process that leads to `port` on host i, its
   * own address, through the host's relay: what a browser in the root
   * namespace opens to reach a node, whatever the LAN's partitions (the
   * relay speaks to the host from inside it). Closed by `destroy`.
   */
  async forward(i: number, port: number): Promise<{ port: number; url: string }> {
    this.#checkAlive()
    const address = this.#host(i).address
    const server = net.createServer((client) => {
      this.#forwarded.add(client)
      client.once('close', () => this.#forwarded.delete(client))
      client.pause()
      this.connect(i, address, port).then(
        (upstream) => {
          client.pipe(upstream).pipe(client)
          client.resume()
          const close = () => {
            client.destroy()
            upstream.destroy()
          }
          client.once('error', close).once('close', close)
          upstream.once('error', close).once('close', close)
        },
        () => client.destroy(),
      )
    })
    this.#forwards.add(server)
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(0, '127.0.0.1', () => resolve())
    })
    const local = (server.address() as net.AddressInfo).port
    return { port: local, url: `http://127.0.0.1:${local}` }
  }

  /** One line a host: namespace, address, link state, bridge. */
  describe(): string {
    const hosts = this.#hosts.map(
      (h, i) => `  host ${i}: ${h.ns} ${h.address} link ${h.up ? 'up' : 'DOWN'} bridge ${h.bridge}`,
    )
    return [`LAN ${this.tag} ${this.subnet}.0/24 (hub ${this.hub})`, ...hosts].join('\n')
  }

  /**
   * Kills whatever still runs in its namespaces (callers should stop their
   * processes first), then deletes every link and namespace it made. Safe to
   * call more than once.
   */
  async destroy(): Promise<void> {
    this.#destroyed ??= this.#destroy()
    return await this.#destroyed
  }

  /** Synchronous, best-effort `destroy` for exit hooks. */
  destroySync(): void {
    // the relays run inside the namespaces: teardownSync kills them with the rest
    teardownSync(this.#namespaces, this.#dir)
    this.#namespaces.clear()
    untrack(this)
  }

  async #destroy(): Promise<void> {
    await this.#queue
    for (const server of this.#forwards) server.close()
    for (const socket of this.#forwarded) socket.destroy()
    this.#forwards.clear()
    const failures: unknown[] = []
    const awaitAll = async (work: Promise<unknown>[]) => {
      for (const r of await Promise.allSettled(work)) if (r.status === 'rejected') failures.push(r.reason)
    }
    await awaitAll([...this.#agents.values()].map(async (a) => await stopAgent(await a)))
    this.#agents.clear()
    const namespaces = [...this.#namespaces]
    await awaitAll(namespaces.map(killAllIn))
    // the veth pairs go with their namespaces; deleting them first also frees
    // them if something outside still pins a namespace
    await awaitAll(
      this.#hosts.map(async (h) => {
        try {
          await ip('-n', this.hub, 'link', 'delete', h.port)
        } catch (err) {
          if (!isMissing(err)) throw err
        }
      }),
    )
    await awaitAll(namespaces.map(deleteNamespace))
    for (const ns of namespaces) removeEtc(ns)
    if (this.#dir !== undefined) rmSync(this.#dir, { recursive: true, force: true })
    this.#namespaces.clear()
    untrack(this)
    if (failures.length > 0) {
      const why = failures.map((f) => (f instanceof Error ? f.message : String(f))).join('; ')
      throw new Error(`destroying ${this.tag}: ${why}`, { cause: failures[0] })
    }
  }

  #checkAlive(): void {
    if (this.#destroyed !== undefined) throw new Error(`${this.tag} is destroyed`)
  }

  #host(i: number): Host {
    const host = this.#hosts[i]
    if (host === undefined) throw new RangeError(`no host ${i} (the LAN has ${this.#hosts.length})`)
    return host
  }

  #bridgeName(group: number): string {
    return `${NETNS_PREFIX}${this.id}-br${group}`
  }

  async #addNamespace(ns: string): Promise<void> {
    this.#namespaces.add(ns)
    await ip('netns', 'add', ns)
  }

  async #addBridge(group: number): Promise<void> {
    const br = this.#bridgeName(group)
    // no IGMP snooping: flood multicast to every port, as a plain switch does
    await ip('-n', this.hub, 'link', 'add', 'name', br, 'type', 'bridge', 'mcast_snooping', '0')
    this.#bridges.add(group)
    // no IPv6 link-local address: the hub stays silent on the LAN
    await ip('-n', this.hub, 'link', 'set', 'dev', br, 'addrgenmode', 'none')
    await ip('-n', this.hub, 'link', 'set', 'dev', br, 'up')
  }

  /** Makes host `index`'s namespace and veth; on failure removes what it made. */
  async #makeHost(index: number): Promise<Host> {
    const host: Host = {
      ns: `${this.tag}-h${index}`,
      port: `${NETNS_PREFIX}${this.id}-p${index}`,
      address: `${this.subnet}.${index + 2}`,
      up: true,
      bridge: 0,
    }
    if (index + 2 > 254) throw new RangeError(`a /24 holds ${MAX_LAN_HOSTS} hosts`)
    await this.#addNamespace(host.ns)
    try {
      const { ns, port } = host
      await ip('-n', ns, 'link', 'set', 'dev', 'lo', 'up')
      // made inside the namespaces: the pair never appears in the root namespace
      await ip(
        '-n',
        ns,
        'link',
        'add',
        'name',
        'eth0',
        'type',
        'veth',
        'peer',
        'name',
        port,
        'netns',
        this.hub,
      )
      await ip('-n', this.hub, 'link', 'set', 'dev', port, 'addrgenmode', 'none')
      await ip('-n', this.hub, 'link', 'set', 'dev', port, 'master', this.#bridgeName(0), 'up')
      await ip('-n', ns, 'address', 'add', `${host.address}/24`, 'dev', 'eth0')
      await ip('-n', ns, 'link', 'set', 'dev', 'eth0', 'multicast', 'on', 'up')
      // without a route for it, sending to or joining a multicast group fails (ENETUNREACH / ENODEV)
      await ip('-n', ns, 'route', 'add', '224.0.0.0/4', 'dev', 'eth0')
    } catch (err) {
      await killAllIn(host.ns).catch(() => {})
      await deleteNamespace(host.ns).catch(() => {})
      this.#namespaces.delete(host.ns)
      throw err
    }
    return host
  }

  async #setLink(i: number, up: boolean): Promise<void> {
    this.#checkAlive()
    const host = this.#host(i)
    await ip('-n', this.hub, 'link', 'set', 'dev', host.port, up ? 'up' : 'down')
    host.up = up
  }

  async #attach(i: number, group: number): Promise<void> {
    const host = this.#host(i)
    if (host.bridge === group) return
    await ip('-n', this.hub, 'link', 'set', 'dev', host.port, 'master', this.#bridgeName(group))
    host.bridge = group
  }

  async #agent(i: number): Promise<Agent> {
    this.#checkAlive()
    this.#host(i)
    let agent = this.#agents.get(i)
    if (agent === undefined) {
      agent = this.#startAgent(i)
      this.#agents.set(i, agent)
      const forget = () => {
        if (this.#agents.get(i) === agent) this.#agents.delete(i)
      }
      agent.then((a) => a.child.once('exit', forget), forget)
    }
    return await agent
  }

  async #startAgent(i: number): Promise<Agent> {
    this.#dir ??= mkdtempSync(join(tmpdir(), `${this.tag}-`))
    const path = join(this.#dir, `h${i}.sock`)
    const [file, ...args] = this.wrap(i, [process.execPath, AGENT, path])
    const child = spawn(file as string, args, { stdio: ['pipe', 'pipe', 'pipe'] })
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (t: string) => {
      stderr += t
    })
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL')
        reject(new Error(`host ${i}: relay not ready after ${AGENT_READY_TIMEOUT_MS} ms: ${stderr}`))
      }, AGENT_READY_TIMEOUT_MS)
      child.stdout.setEncoding('utf8').on('data', (t: string) => {
        if (t.includes('ready')) {
          clearTimeout(timer)
          resolve()
        }
      })
      child.once('error', (err) => {
        clearTimeout(timer)
        reject(err)
      })
      child.once('exit', (code, signal) => {
        clearTimeout(timer)
        reject(new Error(`host ${i}: relay exited (code ${code}, signal ${signal}): ${stderr}`))
      })
    })
    // the relay must not keep the test process alive; the exit hook kills it
    child.unref()
    for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as net.Socket).unref()
    return { child, path }
  }
}

async function stopAgent(agent: Agent): Promise<void> {
  const { child } = agent
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.ref() // unref'd while idle: without this the loop may end before 'exit' arrives
  child.kill('SIGKILL')
  await exited
}

async function probe(): Promise<string | null> {
  if (process.platform !== 'linux') return `network namespaces need Linux, not ${process.platform}`
  const uid = process.getuid?.()
  if (uid !== 0) return `network namespaces need root (uid is ${uid})`
  try {
    await ip('-V')
  } catch (err) {
    return `iproute2's \`ip\` does not run: ${(err as Error).message}`
  }
  const ns = `${NETNS_PREFIX}${uniqueId()}-${process.pid}-probe`
  try {
    await ip('netns', 'add', ns)
    await ip('-n', ns, 'link', 'add', 'name', 'probe-br', 'type', 'bridge')
    await ip('-n', ns, 'link', 'add', 'name', 'probe-a', 'type', 'veth', 'peer', 'name', 'probe-b')
    return null
  } catch (err) {
    return `cannot make a network namespace with a bridge and a veth pair: ${(err as Error).message}`
  } finally {
    await deleteNamespace(ns).catch(() => {})
  }
}
