// Benchmark: the media plane, side by side with node-media-server standalone and
// nginx-rtmp (Debian's libnginx-mod-rtmp, when installed). Time to first frame
// (TTFF) of a new player on an origin, on an edge already carrying the stream and
// on an edge that must start its pull; the failover gap at a kept edge player when
// the serving origin is SIGKILLed (a second origin has the stream); resume after
// the origin comes back and the stream is republished (no alternative); edge CPU
// and RSS idle, relaying one stream, and at 1, 10 and 50 players.
// Prints a table on stdout, progress on stderr, and writes bench/results/media.json
// (a run of some phases only updates those phases in it; a --quick run writes to
// the temp folder instead, and says where).
// Usage: npx -y pnpm@10 bench:media [ttff] [failover] [resume] [load] [--quick]
//
// Every player is an in-process probe in this benchmark's process (one process
// for all players keeps the load on the servers, not on 50 ffmpeg processes):
// RTMP through node-media-server's RtmpClient (TCP_NODELAY, ACKs as bytes
// arrive, ends on nothing but the socket), HTTP-FLV through fetch. TTFF is from
// before the TCP connect to the first video keyframe message/tag (connect,
// createStream and play included); a keyframe is "decodable" when the AVC
// sequence header came before it.
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process'
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { createRequire } from 'node:module'
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os'
import { dirname, join } from 'node:path'
import { spawnFfmpeg } from '@meshcast/node/ffmpeg'
import {
  carrierOn,
  isListening,
  loopbackSubnet,
  type NodeProcess,
  type Publisher,
  publish,
  streamsOf,
  TestCluster,
  waitFor,
} from '@meshcast/testing'
import { type AVPacket, RtmpClient } from '../packages/media/src/nms.ts'
import {
  CLK_TCK,
  type CpuShares,
  cpuMark,
  cpuSince,
  daemonPid,
  errorText,
  fmt,
  max,
  median,
  min,
  nums,
  othersNote,
  processCpuWindow,
  progress,
  progressDone,
  quantile,
  type Row,
  round,
  rssMiB,
  sleep,
} from './lib.ts'

// ---- command line and parameters ------------------------------------------

const PHASES = ['ttff', 'failover', 'resume', 'load'] as const
type Phase = (typeof PHASES)[number]
const argv = process.argv.slice(2)
const QUICK = argv.includes('--quick')
const named = argv.filter((a) => a !== '--quick')
const unknownArgs = named.filter((a) => !(PHASES as readonly string[]).includes(a))
if (unknownArgs.length > 0) {
  console.error(`unknown argument(s): ${unknownArgs.join(' ')}`)
  console.error(`usage: node bench/media.ts [${PHASES.join('] [')}] [--quick]`)
  process.exit(2)
}
const selected: Phase[] = PHASES.filter((p) => named.length === 0 || named.includes(p))

const P = {
  /** measured probes per target (after one warm-up probe that is not counted) */
  ttffRuns: QUICK ? 3 : 12,
  /** a random pause of 0..gopMs before each probe samples the phase of the 1 s GOP */
  gopMs: 1000,
  ttffTimeoutMs: 8000,
  /** edge.linger of the on-demand (cold) meshcast edge, seconds */
  coldLingerS: 1,
  failoverRuns: QUICK ? 2 : 5,
  /** nginx-rtmp's failover is only there for comparison: fewer runs */
  nginxFailoverRuns: QUICK ? 1 : 3,
  /** the kept player plays this long before the kill */
  steadyMs: 4000,
  /** …and is watched this long after it */
  watchMs: 10_000,
  resumeRuns: QUICK ? 1 : 3,
  /** the origin stays down this long before it is restarted */
  downMs: 2000,
  /** how long the kept player may wait for a frame after the republish */
  resumeWatchMs: 20_000,
  loadPlayers: QUICK ? [1, 5] : [1, 10, 50],
  /** CPU is measured over this window once every player plays */
  loadWindowS: QUICK ? 5 : 20,
  idleWindowS: QUICK ? 3 : 10,
  /** let processes settle (JIT, GC) before a window or an RSS reading */
  settleMs: 3000,
  goals: {
    warmEdgeVsOrigin: 1.2,
    coldEdgeMedianMs: 150,
    failoverGapMs: 1000,
    resumeMs: 1000,
    cpuPerSubscriberVsNginx: 1.5,
    /** 120 MB */
    idleRssMiB: 120e6 / 2 ** 20,
  },
}

const LOG_ARGS = ['--log-level', 'info']
const STREAM_APP = 'live'

type SystemName = 'meshcast' | 'node-media-server' | 'nginx-rtmp'

const METHOD = {
  players:
    'in-process probes in the benchmark process: RTMP through node-media-server 4.4.3 RtmpClient (TCP_NODELAY, ACKs as bytes arrive; it never ends on a status, only when its socket closes), HTTP-FLV through fetch',
  ttff: 'from before the TCP connect (RTMP) or the request (HTTP-FLV) to the first video keyframe message/tag; decodable = the AVC sequence header came before it; a random 0..1 s pause before each probe samples the phase of the 1 s GOP; one warm-up probe per target not counted',
  publisher:
    'ffmpeg test pattern (packages/testing publish): 640x360 25 fps H.264 ultrafast/zerolatency, 1 s GOP, AAC 64 kbit/s',
  failover:
    'gap = the longest pause between video frames arriving at a kept edge player, from the last frame before the SIGKILL of the serving origin to the end of the watch; end-of-stream signals = onStatus UnpublishNotify/Play.Stop/StreamNotFound/Play.Failed or user control StreamEOF (a player may stop on these); beside the probe an ffmpeg decodes the same edge stream (showinfo): whether it ended by itself, and what its decoder or muxer said after the kill (decode errors, non-monotonic dts)',
  resume:
    'one origin SIGKILLed with its publisher; restarted after 2 s; once it is back (meshcast: the edge shows one view of 2 again; others: its RTMP port accepts) the stream is republished: republish = ffmpeg spawn; the origin row is a player waiting on the origin (ffmpeg start-up included), the edge row the player kept on the edge',
  load: 'CPU: utime+stime from /proc/<pid>/stat over the window, % of one core; RSS: VmRSS at the end of the window; per subscriber = (value at N players - value at 1) / (N - 1); per relayed stream = relaying with no player - idle',
  nginx:
    'master_process off (one process: the one measured), worker_connections 1024, Debian libnginx-mod-rtmp defaults otherwise',
}

// ---- small helpers ----------------------------------------------------------

/** Established IPv4 TCP connections of process `pid`, as the remote "ip:port". */
function tcpRemotes(pid: number): string[] {
  const inodes = new Set<string>()
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))
        if (m?.[1] !== undefined) inodes.add(m[1])
      } catch {
        // closed meanwhile
      }
    }
  } catch {
    return [] // gone
  }
  const out: string[] = []
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/)
    if (f.length < 10 || f[3] !== '01' || !inodes.has(f[9] ?? '')) continue
    const [hexIp = '', hexPort = ''] = (f[2] ?? '').split(':')
    const ip = [3, 2, 1, 0].map((i) => Number.parseInt(hexIp.slice(i * 2, i * 2 + 2), 16)).join('.')
    out.push(`${ip}:${Number.parseInt(hexPort, 16)}`)
  }
  return out
}

// ---- processes this benchmark starts ------------------------------------------

/** Every child started here and not seen exiting; SIGKILLed when this process exits (Ctrl-C, error). */
const spawned = new Set<ChildProcess>()
const tempDirs = new Set<string>()
process.once('exit', () => {
  for (const child of spawned) child.kill('SIGKILL')
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true })
})

function track(child: ChildProcess): ChildProcess {
  spawned.add(child)
  child.once('exit', () => spawned.delete(child))
  return child
}

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  tempDirs.add(dir)
  return dir
}

function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true })
  tempDirs.delete(dir)
}

/** A child process whose output is kept (the last lines) for error messages. */
class Proc {
  readonly name: string
  readonly child: ChildProcess
  readonly exited: Promise<void>
  readonly #lines: string[] = []

  constructor(
    name: string,
    file: string,
    args: string[],
    opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
  ) {
    this.name = name
    this.child = track(spawn(file, args, { cwd: opts.cwd, env: opts.env, stdio: ['pipe', 'pipe', 'pipe'] }))
    for (const stream of [this.child.stdout, this.child.stderr]) {
      let partial = ''
      stream?.setEncoding('utf8').on('data', (text: string) => {
        const lines = (partial + text).split('\n')
        partial = lines.pop() ?? ''
        this.#lines.push(...lines.filter((l) => l !== ''))
        if (this.#lines.length > 400) this.#lines.splice(0, this.#lines.length - 400)
      })
    }
    this.child.stdin?.on('error', () => {}) // the process may be gone
    this.exited = new Promise((resolve) => {
      this.child.once('exit', () => resolve())
      this.child.once('error', (err) => {
        this.#lines.push(`${file}: ${err.message}`)
        resolve()
      })
    })
  }

  get pid(): number {
    return this.child.pid ?? -1
  }

  get running(): boolean {
    return this.child.pid !== undefined && this.child.exitCode === null && this.child.signalCode === null
  }

  send(message: unknown): void {
    this.child.stdin?.write(`${JSON.stringify(message)}\n`)
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.running) this.child.kill(signal)
  }

  async stop(timeoutMs = 5000): Promise<void> {
    if (!this.running) return
    this.child.kill('SIGTERM')
    await Promise.race([this.exited, sleep(timeoutMs)])
    this.kill('SIGKILL')
    await this.exited
  }

  tail(n = 15): string {
    return this.#lines.slice(-n).join('\n')
  }
}

async function untilListening(proc: Proc, host: string, ports: number[], what: string): Promise<void> {
  await waitFor(
    async () => {
      if (!proc.running) throw new Error(`${proc.name} exited: ${proc.tail()}`)
      for (const port of ports) if (!(await isListening(host, port, 500))) return undefined
      return true
    },
    { timeout: 15_000, interval: 25, what, fatal: (e) => errorText(e).includes('exited') },
  )
}

/** A stream path and the URLs of it on a server. */
interface Server {
  readonly name: string
  readonly host: string
  /** the process whose CPU and memory are the server's */
  pid(): number
  rtmp(path: string): string
  flv(path: string): string | null
}

// meshcast ------------------------------------------------------------------

function meshcastServer(node: NodeProcess): Server {
  let pid: number | null = null
  return {
    name: node.name,
    host: node.host,
    pid: () => {
      pid ??= daemonPid(node.child.pid as number)
      return pid
    },
    rtmp: (path) => `${node.rtmpUrl}${path}`,
    flv: (path) => `${node.httpUrl}${path}.flv`,
  }
}

const idOf = async (node: NodeProcess): Promise<string> => (await node.status()).id

async function viewSize(node: NodeProcess): Promise<number> {
  return ((await (await node.httpGet('/api/view')).json()) as { members: string[] }).members.length
}

async function until(what: string, fn: () => Promise<unknown> | unknown, timeout = 15_000): Promise<void> {
  await waitFor(async () => ((await fn()) ? true : undefined), { timeout, interval: 25, what })
}

/** What a meshcast node logged about pulls since `since` (ms since the epoch), for the evidence. */
function pullLog(node: NodeProcess, since: number): string[] {
  return node
    .records()
    .filter(
      (r) =>
        Date.parse(String(r.timestamp)) >= since &&
        /upstream|pull|anchor/i.test(String(r.message)) &&
        r.level !== 'debug',
    )
    .slice(0, 12)
    .map((r) =>
      JSON.stringify(r)
        .replace(/"timestamp":"[^"]*",?/, '')
        .slice(0, 300),
    )
}

// node-media-server standalone ---------------------------------------------------

const NMS_MAIN = createRequire(new URL('../packages/media/package.json', import.meta.url)).resolve(
  'node-media-server',
)
const NMS_ROOT = dirname(dirname(NMS_MAIN))
const NMS_VERSION = (JSON.parse(readFileSync(join(NMS_ROOT, 'package.json'), 'utf8')) as { version: string })
  .version
const NMS_HTTP_PORT = 8000

/**
 * node-media-server as its own process (what its bin/app.js does, minus the
 * config file handling), with relay tasks added and removed through stdin as
 * its REST API would (POST/DELETE /api/v1/relay). Stdin closing ends it.
 */
const NMS_SCRIPT = `'use strict'
const path = require('node:path')
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

class Nms implements Server {
  readonly name: string
  readonly host: string
  readonly #dir: string
  #proc: Proc

  private constructor(name: string, host: string, dir: string, proc: Proc) {
    this.name = name
    this.host = host
    this.#dir = dir
    this.#proc = proc
  }

  static async start(name: string, host: string): Promise<Nms> {
    const dir = tempDir('meshcast-bench-nms-')
    writeFileSync(join(dir, 'nms-standalone.cjs'), NMS_SCRIPT)
    const nms = new Nms(name, host, dir, Nms.#spawn(name, host, dir))
    await nms.#ready()
    return nms
  }

  static #spawn(name: string, host: string, dir: string): Proc {
    const config = {
      bind: host,
      notify: { url: '' },
      store: { path: join(dir, 'data') },
      rtmp: { port: 1935 },
      http: { port: NMS_HTTP_PORT },
      webadmin: { enable: false },
      record: { auto: false, path: join(dir, 'record') },
    }
    return new Proc(name, process.execPath, [join(dir, 'nms-standalone.cjs')], {
      cwd: dir,
      env: { ...process.env, NMS_MAIN, NMS_CONFIG: JSON.stringify(config) },
    })
  }

  async #ready(): Promise<void> {
    await untilListening(this.#proc, this.host, [1935, NMS_HTTP_PORT], `${this.name} to listen`)
  }

  pid(): number {
    return this.#proc.pid
  }

  rtmp(path: string): string {
    return `rtmp://${this.host}:1935${path}`
  }

  flv(path: string): string {
    return `http://${this.host}:${NMS_HTTP_PORT}${path}.flv`
  }

  /** Adds a relay task pulling `url` into `path` (reconnecting, NMS's defaults). */
  pull(url: string, path: string): void {
    this.#proc.send({ pull: { url, streamPath: path } })
  }

  unpull(path: string): void {
    this.#proc.send({ unpull: path })
  }

  kill(): void {
    this.#proc.kill('SIGKILL')
  }

  /** Starts it again in the same folder (a killed one is just replaced; its persisted relay tasks come back). */
  async restart(): Promise<void> {
    await this.#proc.stop()
    this.#proc = Nms.#spawn(this.name, this.host, this.#dir)
    await this.#ready()
  }

  async stop(): Promise<void> {
    this.#proc.child.stdin?.end()
    await this.#proc.stop()
    removeDir(this.#dir)
  }

  tail(n?: number): string {
    return this.#proc.tail(n)
  }
}

// nginx-rtmp ---------------------------------------------------------------------

const NGINX_BIN = ['/usr/sbin/nginx', '/usr/bin/nginx', '/usr/local/sbin/nginx'].find((p) => existsSync(p))
const NGINX_RTMP_MODULE = '/usr/lib/nginx/modules/ngx_rtmp_module.so'
/** Why the nginx-rtmp rows are skipped, or null. */
const NGINX_MISSING =
  NGINX_BIN === undefined
    ? 'nginx is not installed (apt-get install nginx libnginx-mod-rtmp)'
    : !existsSync(NGINX_RTMP_MODULE)
      ? `no ${NGINX_RTMP_MODULE} (apt-get install libnginx-mod-rtmp)`
      : null

function nginxVersions(): { nginx: string | null; rtmpModule: string | null } {
  if (NGINX_BIN === undefined) return { nginx: null, rtmpModule: null }
  const v = spawnSync(NGINX_BIN, ['-v'], { encoding: 'utf8' })
  const pkg = spawnSync('dpkg-query', ['-W', 'libnginx-mod-rtmp'], { encoding: 'utf8' })
  return {
    nginx: /nginx\/(\S+)/.exec(`${v.stderr}${v.stdout}`)?.[1] ?? null,
    rtmpModule: pkg.status === 0 ? (pkg.stdout.trim().split('\t')[1] ?? null) : null,
  }
}

/** One nginx with the RTMP module, one process (master_process off), on host:1935; `application live { … }`. */
class Nginx implements Server {
  readonly name: string
  readonly host: string
  readonly #dir: string
  #proc: Proc

  private constructor(name: string, host: string, dir: string, proc: Proc) {
    this.name = name
    this.host = host
    this.#dir = dir
    this.#proc = proc
  }

  /** `app`: the directives of `application live` besides `live on`, e.g. `pull rtmp://…/live;`. */
  static async start(name: string, host: string, app: string[] = []): Promise<Nginx> {
    const dir = tempDir('meshcast-bench-nginx-')
    writeFileSync(
      join(dir, 'nginx.conf'),
      [
        `load_module ${NGINX_RTMP_MODULE};`,
        'daemon off;',
        'master_process off;',
        'worker_processes 1;',
        `pid ${join(dir, 'nginx.pid')};`,
        `error_log ${join(dir, 'error.log')} info;`,
        'events { worker_connections 1024; }',
        'rtmp {',
        '  server {',
        `    listen ${host}:1935;`,
        `    application ${STREAM_APP} {`,
        '      live on;',
        ...app.map((line) => `      ${line}`),
        '    }',
        '  }',
        '}',
        '',
      ].join('\n'),
    )
    const nginx = new Nginx(name, host, dir, Nginx.#spawn(name, dir))
    await nginx.#ready()
    return nginx
  }

  static #spawn(name: string, dir: string): Proc {
    const args = ['-c', join(dir, 'nginx.conf'), '-p', `${dir}/`, '-e', join(dir, 'error.log')]
    return new Proc(name, NGINX_BIN as string, args)
  }

  async #ready(): Promise<void> {
    await untilListening(this.#proc, this.host, [1935], `${this.name} to listen`)
  }

  pid(): number {
    return this.#proc.pid
  }

  rtmp(path: string): string {
    return `rtmp://${this.host}:1935${path}`
  }

  flv(): null {
    return null
  }

  kill(): void {
    this.#proc.kill('SIGKILL')
  }

  async restart(): Promise<void> {
    await this.#proc.stop()
    this.#proc = Nginx.#spawn(this.name, this.#dir)
    await this.#ready()
  }

  async stop(): Promise<void> {
    await this.#proc.stop()
    removeDir(this.#dir)
  }

  tail(): string {
    try {
      return readFileSync(join(this.#dir, 'error.log'), 'utf8').split('\n').slice(-15).join('\n')
    } catch {
      return this.#proc.tail()
    }
  }
}

// publishers ---------------------------------------------------------------------

async function startPublisher(url: string): Promise<Publisher> {
  const p = await publish(url)
  track(p.child)
  return p
}

async function stopPublishers(pubs: readonly (Publisher | null)[]): Promise<void> {
  await Promise.all(
    pubs.map(async (p) => {
      if (p === null) return
      p.child.kill('SIGKILL')
      await Promise.race([p.exited, sleep(3000)])
    }),
  )
}

// ---- players (probes) ----------------------------------------------------------

/** onStatus codes after which ffmpeg stops playing (rtmpproto.c: STATE_STOPPED), or that refuse the play. */
const END_STATUS = /UnpublishNotify|Play\.Stop|StreamNotFound|Play\.Failed/
/** User control event 1: StreamEOF. */
const STREAM_EOF = 1

interface VideoFrame {
  /** performance.now() at arrival */
  at: number
  dts: number
  key: boolean
}

/**
 * An RTMP player: NMS's RtmpClient, acknowledging the server's window as
 * bytes arrive (as meshcast's PullClient does; NMS's own only does it on a
 * control message), TCP_NODELAY, and recording what arrives and when. It
 * never gives up by itself: only the socket closing ends it.
 */
class RtmpProbe extends RtmpClient {
  readonly url: string
  /** keep every video frame (kept players); else only counts */
  readonly keep: boolean
  t0 = 0
  playStartAt: number | null = null
  firstVideoHeaderAt: number | null = null
  firstKeyAt: number | null = null
  /** the first keyframe came after a video sequence header */
  firstKeyDecodable = false
  videoFrames = 0
  audioFrames = 0
  readonly frames: VideoFrame[] = []
  /** timestamps that went back (video: or repeated) */
  readonly backwards: { kind: 'video' | 'audio'; at: number; from: number; to: number }[] = []
  readonly statuses: { at: number; code: string }[] = []
  readonly userEvents: { at: number; type: number }[] = []
  closedAt: number | null = null
  error: string | null = null
  #closing = false
  readonly #lastDts = { video: Number.NEGATIVE_INFINITY, audio: Number.NEGATIVE_INFINITY }
  #keyWaiters: (() => void)[] = []

  constructor(url: string, keep = false) {
    super()
    this.url = url
    this.keep = keep
    this.onPacketCallback = (p: AVPacket) => this.#packet(p)
    this.onStatusCallback = (code: string) => {
      const at = performance.now()
      this.statuses.push({ at, code })
      if (code === 'NetStream.Play.Start') this.playStartAt ??= at
    }
    this.onCloseCallback = () => {
      if (!this.#closing) this.closedAt ??= performance.now()
      this.#wake()
    }
    this.onErrorCallback = (err: Error) => {
      if (!this.#closing) this.error ??= err.message
    }
    const handle = this.handleData
    this.handleData = (data: Buffer) => {
      try {
        handle(data)
      } catch (err) {
        this.error ??= `bad data from the server: ${errorText(err)}`
        this.socket?.destroy()
        return
      }
      if (this.ackSize > 0 && this.receivedBytes - this.lastAckBytes >= this.ackSize) {
        this.lastAckBytes = this.receivedBytes
        this.sendACK(this.receivedBytes >>> 0)
      }
    }
  }

  start(): this {
    this.t0 = performance.now()
    this.connect(this.url)
      .then(() => this.sendConnect())
      .then(() => this.sendCreateStream())
      .then(() => this.sendPlay(this.urlInfo?.streamName ?? ''))
      .catch((err: unknown) => {
        if (!this.#closing) this.error ??= errorText(err)
      })
    this.socket?.setNoDelay(true)
    return this
  }

  close(): void {
    this.#closing = true
    this.socket?.destroy()
    this.#wake()
  }

  /** ms from start to the first video keyframe; null when none within `timeoutMs` or the socket closed. */
  firstKey(timeoutMs: number): Promise<number | null> {
    const result = () => (this.firstKeyAt === null ? null : this.firstKeyAt - this.t0)
    if (this.firstKeyAt !== null || this.closedAt !== null) return Promise.resolve(result())
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs)
      function done() {
        clearTimeout(timer)
        resolve(result())
      }
      this.#keyWaiters.push(done)
    })
  }

  /** Signals after which a player such as ffmpeg stops, at or after `since`. */
  endSignals(since: number): string[] {
    return [
      ...this.statuses.filter((s) => s.at >= since && END_STATUS.test(s.code)).map((s) => s.code),
      ...this.userEvents.filter((e) => e.at >= since && e.type === STREAM_EOF).map(() => 'StreamEOF'),
    ]
  }

  override write(buffer: Buffer): void {
    const socket = this.socket
    if (socket === null || socket.destroyed || !socket.writable) return
    socket.write(buffer)
  }

  override eventHandler(): void {
    const { header, payload } = this.parserPacket
    if (header.length >= 2) this.userEvents.push({ at: performance.now(), type: payload.readUInt16BE(0) })
    super.eventHandler()
  }

  #packet(p: AVPacket): void {
    const at = performance.now()
    if (p.codec_type === 9) {
      if (p.flags === 2) {
        this.firstVideoHeaderAt ??= at
        return
      }
      if (p.flags !== 3 && p.flags !== 4) return
      const key = p.flags === 3
      if (key && this.firstKeyAt === null) {
        this.firstKeyAt = at
        this.firstKeyDecodable = this.firstVideoHeaderAt !== null
        this.#wake()
      }
      this.videoFrames++
      if (p.dts <= this.#lastDts.video)
        this.backwards.push({ kind: 'video', at, from: this.#lastDts.video, to: p.dts })
      this.#lastDts.video = p.dts
      if (this.keep) this.frames.push({ at, dts: p.dts, key })
    } else if (p.codec_type === 8 && p.flags === 1) {
      this.audioFrames++
      if (p.dts < this.#lastDts.audio)
        this.backwards.push({ kind: 'audio', at, from: this.#lastDts.audio, to: p.dts })
      this.#lastDts.audio = p.dts
    }
  }

  #wake(): void {
    const waiters = this.#keyWaiters
    this.#keyWaiters = []
    for (const w of waiters) w()
  }
}

interface FlvProbeResult {
  ms: number | null
  /** response headers arrived */
  headersMs: number | null
  decodable: boolean
  error?: string
}

/** HTTP-FLV: ms from before the request to the first video keyframe tag. */
async function flvProbe(url: string, timeoutMs: number): Promise<FlvProbeResult> {
  const t0 = performance.now()
  const ac = new AbortController()
  const timer = setTimeout(() => ac.abort(), timeoutMs)
  const out: FlvProbeResult = { ms: null, headersMs: null, decodable: false }
  try {
    const res = await fetch(url, { signal: ac.signal, headers: { 'cache-control': 'no-cache' } })
    out.headersMs = round(performance.now() - t0, 1)
    if (!res.ok || res.body === null) throw new Error(`HTTP ${res.status}`)
    const reader = res.body.getReader()
    let buf = Buffer.alloc(0)
    let pos = -1 // before the FLV header
    let sequenceHeader = false
    for (;;) {
      const { value, done } = await reader.read()
      if (done) throw new Error('the response ended before a keyframe')
      buf = buf.length === 0 ? Buffer.from(value) : Buffer.concat([buf, value])
      for (;;) {
        if (pos === -1) {
          if (buf.length < 9) break
          if (buf.toString('latin1', 0, 3) !== 'FLV') throw new Error('not FLV')
          pos = buf.readUInt32BE(5) + 4 // header, then PreviousTagSize0
        }
        if (buf.length < pos + 11) break
        const type = buf[pos] as number
        const size = buf.readUIntBE(pos + 1, 3)
        if (buf.length < pos + 11 + size) break
        if (type === 9 && size >= 2) {
          const b0 = buf[pos + 11] as number
          const avc = (b0 & 0x0f) === 7
          const packetType = buf[pos + 12] as number
          if (avc && packetType === 0) sequenceHeader = true
          else if (b0 >> 4 === 1 && (!avc || packetType === 1)) {
            out.ms = round(performance.now() - t0, 1)
            out.decodable = sequenceHeader
            return out
          }
        }
        pos += 11 + size + 4
      }
      if (pos > 0) {
        buf = buf.subarray(pos)
        pos = 0
      }
    }
  } catch (err) {
    out.error = ac.signal.aborted ? `no keyframe within ${timeoutMs} ms` : errorText(err)
  } finally {
    clearTimeout(timer)
    ac.abort()
  }
  return out
}

/** What ffmpeg's H.264 decoder (or demuxer) says when a frame cannot be decoded cleanly. */
const DECODE_TROUBLE =
  /\[h264 @|error while decoding|concealing|non.?monoton|Invalid data|missing picture|reference picture/i
// showinfo prints one line a decoded video frame: "... n:   3 pts:   3072 pts_time:0.12 ..."
const SHOWINFO = /\bn:\s*(\d+)\s+pts:\s*-?\d+\s+pts_time:(-?[\d.]+)/

/**
 * A player that really decodes: ffmpeg reading RTMP, decoding every video
 * frame (showinfo), writing nothing. What it says about the stream (decoder
 * errors, timestamps) is kept with the time it said it.
 */
class FfmpegPlayer {
  readonly url: string
  readonly frames: { at: number; pts: number }[] = []
  readonly trouble: { at: number; line: string }[] = []
  exitedAt: number | null = null
  #child: ChildProcess | null = null
  #stopping = false

  private constructor(url: string) {
    this.url = url
  }

  static async start(url: string): Promise<FfmpegPlayer> {
    const player = new FfmpegPlayer(url)
    const args = ['-hide_banner', '-nostdin', '-loglevel', 'info', '-i', url]
    args.push('-map', '0:v:0', '-vf', 'showinfo', '-f', 'null', '-')
    const child = track(await spawnFfmpeg(args))
    player.#child = child
    let partial = ''
    child.stderr?.setEncoding('utf8').on('data', (text: string) => {
      const at = performance.now()
      const lines = (partial + text).split('\n')
      partial = lines.pop() ?? ''
      for (const line of lines) {
        const m = SHOWINFO.exec(line)
        if (m !== null) player.frames.push({ at, pts: Number(m[2]) })
        else if (DECODE_TROUBLE.test(line)) player.trouble.push({ at, line: line.slice(0, 200) })
      }
    })
    child.once('exit', () => {
      if (!player.#stopping) player.exitedAt = performance.now()
    })
    return player
  }

  /** Decoded frames whose pts did not increase. */
  get nonMonotonic(): number {
    let n = 0
    for (let i = 1; i < this.frames.length; i++)
      if ((this.frames[i]?.pts ?? 0) <= (this.frames[i - 1]?.pts ?? 0)) n++
    return n
  }

  async stop(): Promise<void> {
    this.#stopping = true
    const child = this.#child
    if (child === null || child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise((r) => child.once('exit', r))
    child.kill('SIGKILL')
    await exited
  }

  /** A summary from `since` (performance.now()) on. */
  report(since: number) {
    const after = this.frames.filter((f) => f.at > since)
    return {
      /** ffmpeg ended by itself (the server closed, or told it the stream stopped) */
      exited: this.exitedAt !== null,
      decodedFrames: this.frames.length,
      decodedAfter: after.length,
      troubleAfter: this.trouble.filter((t) => t.at > since).length,
      troubleBefore: this.trouble.filter((t) => t.at <= since).length,
      troubleSample: this.trouble
        .filter((t) => t.at > since - 1000)
        .slice(0, 6)
        .map((t) => t.line),
      nonMonotonicPts: this.nonMonotonic,
    }
  }
}
type DecoderReport = ReturnType<FfmpegPlayer['report']>

// ---- 1. time to first frame --------------------------------------------------------

type Role = 'origin' | 'warm edge' | 'cold edge'

interface TtffTarget {
  system: SystemName
  role: Role
  proto: 'RTMP' | 'HTTP-FLV'
  url: string
  /** how this target differs from the others of its role */
  note?: string
  /** a few words of that for the table */
  tag?: string
  /** before each probe (e.g. wait until the cold edge's pull has ended) */
  before?: () => Promise<void>
  /** right after the probe started (NMS: add the relay task) */
  begin?: () => void
  /** after each probe */
  after?: () => Promise<void>
}

interface TtffSample {
  run: number
  /** start → first video keyframe; null: none within the timeout */
  ms: number | null
  decodable: boolean
  /** RTMP: start → NetStream.Play.Start; HTTP-FLV: start → response headers */
  startMs: number | null
  error?: string
}

async function ttffSample(t: TtffTarget, run: number): Promise<TtffSample> {
  if (t.proto === 'HTTP-FLV') {
    const r = await flvProbe(t.url, P.ttffTimeoutMs)
    return {
      run,
      ms: r.ms,
      decodable: r.decodable,
      startMs: r.headersMs,
      ...(r.error === undefined ? {} : { error: r.error }),
    }
  }
  const probe = new RtmpProbe(t.url).start()
  t.begin?.()
  const ms = await probe.firstKey(P.ttffTimeoutMs)
  probe.close()
  const error =
    ms !== null
      ? null
      : (probe.error ?? (probe.closedAt !== null ? 'connection closed' : 'no keyframe in time'))
  return {
    run,
    ms: round(ms, 1),
    decodable: probe.firstKeyDecodable,
    startMs: round(probe.playStartAt === null ? null : probe.playStartAt - probe.t0, 1),
    ...(error === null ? {} : { error }),
  }
}

function ttffSummary(t: TtffTarget, samples: TtffSample[], warmup: TtffSample | null) {
  const ms = nums(samples.map((s) => s.ms))
  return {
    system: t.system,
    role: t.role,
    proto: t.proto,
    url: t.url,
    ...(t.note === undefined ? {} : { note: t.note }),
    ...(t.tag === undefined ? {} : { tag: t.tag }),
    medianMs: round(median(ms), 1),
    p90Ms: round(quantile(ms, 0.9), 1),
    minMs: round(min(ms), 1),
    maxMs: round(max(ms), 1),
    startMedianMs: round(median(nums(samples.map((s) => s.startMs))), 1),
    measured: ms.length,
    runs: samples.length,
    decodable: samples.filter((s) => s.ms !== null && s.decodable).length,
    warmup,
    samples,
  }
}
type TtffResult = ReturnType<typeof ttffSummary>

/** Every target once as a warm-up, then P.ttffRuns rounds over the targets in turn. */
async function ttffSeries(targets: TtffTarget[]): Promise<TtffResult[]> {
  const samples = targets.map((): TtffSample[] => [])
  const warmups: (TtffSample | null)[] = []
  const label = (t: TtffTarget) => `ttff: ${t.system} ${t.role} ${t.proto}`
  for (const t of targets) {
    progress(`${label(t)}: warm-up`)
    await t.before?.()
    warmups.push(await ttffSample(t, 0))
    await t.after?.()
  }
  for (let run = 1; run <= P.ttffRuns; run++) {
    for (const [i, t] of targets.entries()) {
      progress(`${label(t)}: run ${run}/${P.ttffRuns}`)
      await t.before?.()
      await sleep(Math.random() * P.gopMs)
      samples[i]?.push(await ttffSample(t, run))
      await t.after?.()
    }
  }
  return targets.map((t, i) => ttffSummary(t, samples[i] ?? [], warmups[i] ?? null))
}

/** Starts a kept player and waits for its first keyframe (a warm edge keeps its pull while someone watches). */
async function keeper(url: string, what: string): Promise<RtmpProbe> {
  const probe = new RtmpProbe(url).start()
  if ((await probe.firstKey(20_000)) === null) {
    probe.close()
    throw new Error(`no keyframe at ${what} (${url}) within 20 s: ${probe.error ?? 'nothing'}`)
  }
  return probe
}

async function ttffMeshcast(): Promise<TtffResult[]> {
  const path = `/${STREAM_APP}/ttff`
  const cluster = new TestCluster()
  let pub: Publisher | null = null
  let keep: RtmpProbe | null = null
  try {
    progress('ttff: meshcast: starting an origin, a warm edge and an on-demand (cold) edge')
    const origin = await cluster.start({ name: 'origin', args: LOG_ARGS })
    const warm = await cluster.start({
      name: 'warm-edge',
      cluster: { origins: [cluster.address(0)] },
      args: LOG_ARGS,
    })
    const cold = await cluster.start({
      name: 'cold-edge',
      cluster: { origins: [cluster.address(0)], streamOnDemand: true },
      properties: { 'edge.linger': P.coldLingerS },
      args: LOG_ARGS,
    })
    pub = await startPublisher(`${origin.rtmpUrl}${path}`)
    await until('the warm edge to pull', async () => (await carrierOn(warm, path))?.source === 'edge')
    await until('the cold edge to hear of the stream', async () =>
      (await streamsOf(cold)).streams.some((s) => s.path === path),
    )
    keep = await keeper(`${warm.rtmpUrl}${path}`, 'the warm edge')
    const o = meshcastServer(origin)
    const w = meshcastServer(warm)
    const c = meshcastServer(cold)
    const coldIdle = async () => {
      await until(
        'the cold edge to end its pull (edge.linger after the last player)',
        async () =>
          (await carrierOn(cold, path)) === undefined && !tcpRemotes(c.pid()).includes(`${origin.host}:1935`),
      )
      await sleep(200)
    }
    const targets: TtffTarget[] = []
    for (const proto of ['RTMP', 'HTTP-FLV'] as const) {
      const url = (s: Server) => (proto === 'RTMP' ? s.rtmp(path) : (s.flv(path) as string))
      targets.push(
        { system: 'meshcast', role: 'origin', proto, url: url(o) },
        { system: 'meshcast', role: 'warm edge', proto, url: url(w), note: 'repeat mode, one other player' },
        {
          system: 'meshcast',
          role: 'cold edge',
          proto,
          url: url(c),
          note: `streamOnDemand, edge.linger ${P.coldLingerS} s: no pull before the player`,
          tag: 'on demand',
          before: coldIdle,
        },
      )
    }
    return await ttffSeries(targets)
  } catch (err) {
    throw new Error(`${errorText(err)}\n${cluster.report().split('\n').slice(-30).join('\n')}`)
  } finally {
    progress('ttff: meshcast: stopping')
    keep?.close()
    await stopPublishers([pub])
    await cluster.stopAll()
  }
}

async function ttffNms(): Promise<TtffResult[]> {
  const path = `/${STREAM_APP}/ttff`
  const address = loopbackSubnet()
  const servers: Nms[] = []
  let pub: Publisher | null = null
  let keep: RtmpProbe | null = null
  try {
    progress('ttff: node-media-server: starting an origin and two relay edges')
    const origin = await Nms.start('nms-origin', address(0))
    servers.push(origin)
    const edge = await Nms.start('nms-edge', address(1))
    servers.push(edge)
    const cold = await Nms.start('nms-cold-edge', address(2))
    servers.push(cold)
    pub = await startPublisher(origin.rtmp(path))
    await sleep(1500)
    edge.pull(origin.rtmp(path), path)
    keep = await keeper(edge.rtmp(path), 'the node-media-server edge')
    const coldIdle = async () => {
      await until('the cold NMS edge to drop its relay', () => tcpRemotes(cold.pid()).length === 0)
      await sleep(200)
    }
    return await ttffSeries([
      { system: 'node-media-server', role: 'origin', proto: 'RTMP', url: origin.rtmp(path) },
      {
        system: 'node-media-server',
        role: 'warm edge',
        proto: 'RTMP',
        url: edge.rtmp(path),
        note: 'static relay task, one other player',
      },
      {
        system: 'node-media-server',
        role: 'cold edge',
        proto: 'RTMP',
        url: cold.rtmp(path),
        note: 'NMS has no on-demand pull: the relay task is added as the player connects, removed after',
        tag: 'relay task added as the player connects',
        before: coldIdle,
        begin: () => cold.pull(origin.rtmp(path), path),
        after: async () => cold.unpull(path),
      },
      { system: 'node-media-server', role: 'origin', proto: 'HTTP-FLV', url: origin.flv(path) },
      {
        system: 'node-media-server',
        role: 'warm edge',
        proto: 'HTTP-FLV',
        url: edge.flv(path),
        note: 'static relay task, one other player',
      },
    ])
  } catch (err) {
    throw new Error(`${errorText(err)}\n${servers.map((s) => `${s.name}: ${s.tail()}`).join('\n')}`)
  } finally {
    progress('ttff: node-media-server: stopping')
    keep?.close()
    await stopPublishers([pub])
    await Promise.all(servers.map((s) => s.stop()))
  }
}

async function ttffNginx(): Promise<TtffResult[]> {
  const path = `/${STREAM_APP}/ttff`
  const address = loopbackSubnet()
  const servers: Nginx[] = []
  let pub: Publisher | null = null
  let keep: RtmpProbe | null = null
  try {
    progress('ttff: nginx-rtmp: starting an origin and two pull edges')
    const origin = await Nginx.start('nginx-origin', address(0))
    servers.push(origin)
    const pull = [`pull rtmp://${origin.host}:1935/${STREAM_APP};`]
    const warm = await Nginx.start('nginx-warm-edge', address(1), pull)
    servers.push(warm)
    const cold = await Nginx.start('nginx-cold-edge', address(2), pull)
    servers.push(cold)
    pub = await startPublisher(origin.rtmp(path))
    await sleep(1500)
    keep = await keeper(warm.rtmp(path), 'the nginx-rtmp warm edge')
    const coldIdle = async () => {
      await until('the cold nginx edge to end its pull', () => tcpRemotes(cold.pid()).length === 0)
      await sleep(200)
    }
    return await ttffSeries([
      { system: 'nginx-rtmp', role: 'origin', proto: 'RTMP', url: origin.rtmp(path) },
      {
        system: 'nginx-rtmp',
        role: 'warm edge',
        proto: 'RTMP',
        url: warm.rtmp(path),
        note: 'one other player',
      },
      {
        system: 'nginx-rtmp',
        role: 'cold edge',
        proto: 'RTMP',
        url: cold.rtmp(path),
        note: 'pull on demand (no player: no pull)',
        tag: 'pull on demand',
        before: coldIdle,
      },
    ])
  } catch (err) {
    throw new Error(`${errorText(err)}\n${servers.map((s) => `${s.name}: ${s.tail()}`).join('\n')}`)
  } finally {
    progress('ttff: nginx-rtmp: stopping')
    keep?.close()
    await stopPublishers([pub])
    await Promise.all(servers.map((s) => s.stop()))
  }
}

async function phaseTtff() {
  const results: TtffResult[] = []
  const errors: Record<string, string> = {}
  const skipped: Record<string, string> = {}
  const cpu: Record<string, CpuShares> = {}
  const systems: [SystemName, () => Promise<TtffResult[]>][] = [
    ['meshcast', ttffMeshcast],
    ['node-media-server', ttffNms],
    ['nginx-rtmp', ttffNginx],
  ]
  for (const [name, run] of systems) {
    if (name === 'nginx-rtmp' && NGINX_MISSING !== null) {
      skipped[name] = NGINX_MISSING
      continue
    }
    const mark = cpuMark()
    try {
      results.push(...(await run()))
    } catch (err) {
      errors[name] = errorText(err)
    }
    cpu[name] = cpuSince(mark)
  }
  return {
    date: new Date().toISOString(),
    loadAverage: loadavg(),
    results,
    errors,
    skipped,
    cpuBySystem: cpu,
  }
}

// ---- 2. failover and 3. resume: a kept player across an origin's loss -----------------

interface KeptPlayer {
  /** the socket stayed open */
  connected: boolean
  /** what would have made ffmpeg stop playing */
  endSignals: string[]
  videoFrames: number
  /** frames that arrived after the event */
  framesAfter: number
  /** the longest pause between video frames from the last one before the event to the end; null: none resumed (the watch ended in a pause of over 1 s) */
  gapMs: number | null
  /** the longest pause in the steady play before the event (jitter) */
  steadyMaxGapMs: number | null
  /** dts step across that pause (the player's timeline; 40 = one frame at 25 fps) */
  dtsStepMs: number | null
  /** timestamps that went back (video: or repeated), with where */
  backwards: number
  backwardsSample: RtmpProbe['backwards']
  error: string | null
}

function keptPlayer(probe: RtmpProbe, eventAt: number, steadyFrom: number, watchEnd: number): KeptPlayer {
  const frames = probe.frames
  let last = -1
  for (let i = 0; i < frames.length; i++) if ((frames[i] as VideoFrame).at <= eventAt) last = i
  const steady = frames.filter((f) => f.at >= steadyFrom && f.at <= eventAt)
  let steadyMax = 0
  for (let i = 1; i < steady.length; i++)
    steadyMax = Math.max(steadyMax, (steady[i] as VideoFrame).at - (steady[i - 1] as VideoFrame).at)
  let gap: number | null = null
  let resumeIndex = -1
  for (let i = Math.max(1, last + 1); i < frames.length; i++) {
    const pause = (frames[i] as VideoFrame).at - (frames[i - 1] as VideoFrame).at
    if (gap === null || pause > gap) {
      gap = pause
      resumeIndex = i
    }
  }
  // still waiting at the end of the watch: that pause is open, nothing resumed
  const lastFrame = frames[frames.length - 1]
  const trailing = lastFrame === undefined ? Number.POSITIVE_INFINITY : watchEnd - lastFrame.at
  if (trailing > Math.max(gap ?? 0, 1000)) {
    gap = null
    resumeIndex = -1
  }
  const resumed = frames[resumeIndex]
  const before = frames[resumeIndex - 1]
  return {
    connected: probe.closedAt === null,
    endSignals: probe.endSignals(eventAt - 50),
    videoFrames: frames.length,
    framesAfter: frames.filter((f) => f.at > eventAt).length,
    gapMs: round(gap, 0),
    steadyMaxGapMs: round(steady.length > 1 ? steadyMax : null, 0),
    dtsStepMs: resumed === undefined || before === undefined ? null : resumed.dts - before.dts,
    backwards: probe.backwards.length,
    backwardsSample: probe.backwards.slice(0, 5),
    error: probe.error,
  }
}

interface FailoverRun {
  system: SystemName
  run: number
  kept: KeptPlayer | null
  /** an ffmpeg decoding the same edge stream, from the kill on */
  decoder: DecoderReport | null
  /** the edge pulled from the other origin afterwards */
  switched: boolean | null
  /** meshcast: the edge's log about its pull; nginx: whether it connected to the other origin, and its error.log */
  evidence?: string[]
  cpu?: CpuShares
  error?: string
}

async function failoverMeshcast(run: number): Promise<FailoverRun> {
  const path = `/${STREAM_APP}/twice`
  const cluster = new TestCluster()
  const result: FailoverRun = { system: 'meshcast', run, kept: null, decoder: null, switched: null }
  const pubs: Publisher[] = []
  let probe: RtmpProbe | null = null
  let decoder: FfmpegPlayer | null = null
  try {
    const label = `failover: meshcast run ${run}/${P.failoverRuns}`
    progress(`${label}: starting two origins and an edge`)
    const o1 = await cluster.start({ name: 'origin-1', args: LOG_ARGS })
    const o2 = await cluster.start({ name: 'origin-2', args: LOG_ARGS })
    const edge = await cluster.start({
      name: 'edge',
      cluster: { origins: [cluster.address(0), cluster.address(1)] },
      args: LOG_ARGS,
    })
    const byId = new Map([
      [await idOf(o1), o1],
      [await idOf(o2), o2],
    ])
    pubs.push(await startPublisher(`${o1.rtmpUrl}${path}`), await startPublisher(`${o2.rtmpUrl}${path}`))
    const first = await waitFor(async () => (await carrierOn(edge, path))?.via[0], {
      timeout: 15_000,
      what: 'the edge to pull',
    })
    probe = new RtmpProbe(`${edge.rtmpUrl}${path}`, true).start()
    decoder = await FfmpegPlayer.start(`${edge.rtmpUrl}${path}`)
    if ((await probe.firstKey(15_000)) === null) throw new Error(`no keyframe at the edge: ${probe.error}`)
    progress(`${label}: playing`)
    const steadyFrom = performance.now()
    await sleep(P.steadyMs)
    const serving = byId.get(first)
    if (serving === undefined) throw new Error(`the edge pulls from ${first}, no origin of this run`)
    const wall = Date.now()
    const mark = cpuMark()
    const killedAt = performance.now()
    serving.kill('SIGKILL')
    progress(`${label}: SIGKILLed ${serving.name}; watching`)
    await sleep(P.watchMs)
    result.cpu = cpuSince(mark)
    result.kept = keptPlayer(probe, killedAt, steadyFrom, performance.now())
    await decoder.stop()
    result.decoder = decoder.report(killedAt)
    const now = await carrierOn(edge, path)
    result.switched = now !== undefined && now.via[0] !== first
    result.evidence = pullLog(edge, wall - 100)
  } catch (err) {
    result.error = errorText(err)
  } finally {
    probe?.close()
    await decoder?.stop()
    await stopPublishers(pubs)
    await cluster.stopAll()
  }
  return result
}

async function failoverNginx(run: number): Promise<FailoverRun> {
  const path = `/${STREAM_APP}/twice`
  const address = loopbackSubnet()
  const result: FailoverRun = { system: 'nginx-rtmp', run, kept: null, decoder: null, switched: null }
  const servers: Nginx[] = []
  const pubs: Publisher[] = []
  let probe: RtmpProbe | null = null
  let decoder: FfmpegPlayer | null = null
  try {
    const label = `failover: nginx-rtmp run ${run}/${P.nginxFailoverRuns}`
    progress(`${label}: starting two origins and an edge pulling from both`)
    const o1 = await Nginx.start('nginx-origin-1', address(0))
    const o2 = await Nginx.start('nginx-origin-2', address(1))
    servers.push(o1, o2)
    const edge = await Nginx.start('nginx-edge', address(2), [
      `pull rtmp://${o1.host}:1935/${STREAM_APP};`,
      `pull rtmp://${o2.host}:1935/${STREAM_APP};`,
    ])
    servers.push(edge)
    pubs.push(await startPublisher(o1.rtmp(path)), await startPublisher(o2.rtmp(path)))
    await sleep(1500)
    probe = new RtmpProbe(edge.rtmp(path), true).start()
    decoder = await FfmpegPlayer.start(edge.rtmp(path))
    if ((await probe.firstKey(15_000)) === null) throw new Error(`no keyframe at the edge: ${probe.error}`)
    progress(`${label}: playing`)
    const steadyFrom = performance.now()
    await sleep(P.steadyMs)
    const upstreams = tcpRemotes(edge.pid())
    const serving = [o1, o2].filter((o) => upstreams.includes(`${o.host}:1935`))
    if (serving.length !== 1)
      throw new Error(`the edge should pull from one origin; its connections: ${upstreams.join(', ')}`)
    const victim = serving[0] as Nginx
    const other = victim === o1 ? o2 : o1
    const mark = cpuMark()
    const killedAt = performance.now()
    victim.kill()
    progress(`${label}: SIGKILLed ${victim.name}; watching`)
    let otherAt: number | null = null
    while (performance.now() - killedAt < P.watchMs) {
      if (otherAt === null && tcpRemotes(edge.pid()).includes(`${other.host}:1935`))
        otherAt = performance.now()
      await sleep(50)
    }
    result.cpu = cpuSince(mark)
    result.kept = keptPlayer(probe, killedAt, steadyFrom, performance.now())
    await decoder.stop()
    result.decoder = decoder.report(killedAt)
    result.switched = otherAt !== null
    result.evidence = [
      otherAt === null
        ? `the edge never connected to ${other.name} within ${P.watchMs} ms`
        : `the edge connected to ${other.name} ${Math.round(otherAt - killedAt)} ms after the kill`,
      ...edge
        .tail()
        .split('\n')
        .filter((l) => /relay|pull|disconnect/i.test(l))
        .slice(-6),
    ]
  } catch (err) {
    result.error = errorText(err)
  } finally {
    probe?.close()
    await decoder?.stop()
    await stopPublishers(pubs)
    await Promise.all(servers.map((s) => s.stop()))
  }
  return result
}

function keptSummary(runs: { kept: KeptPlayer | null; decoder: DecoderReport | null; error?: string }[]) {
  const kept = runs.flatMap((r) => (r.kept === null ? [] : [r.kept]))
  const decoders = runs.flatMap((r) => (r.decoder === null ? [] : [r.decoder]))
  const gaps = nums(kept.map((k) => k.gapMs))
  return {
    runs: runs.length,
    errors: runs.filter((r) => r.error !== undefined).length,
    gapMedianMs: round(median(gaps), 0),
    gapMaxMs: round(max(gaps), 0),
    /** runs where no frame came after the event */
    noFrameAfter: kept.filter((k) => k.gapMs === null || k.framesAfter === 0).length,
    disconnected: kept.filter((k) => !k.connected).length,
    withEndSignals: kept.filter((k) => k.endSignals.length > 0).length,
    nonMonotonic: kept.filter((k) => k.backwards > 0).length,
    steadyMaxGapMs: round(max(nums(kept.map((k) => k.steadyMaxGapMs))), 0),
    /** the decoding ffmpeg: runs where it ended by itself, runs where it complained after the event */
    decoderExited: decoders.filter((d) => d.exited).length,
    decoderTrouble: decoders.filter((d) => d.troubleAfter > 0).length,
    decoderNonMonotonic: decoders.filter((d) => d.nonMonotonicPts > 0).length,
  }
}

async function phaseFailover() {
  const meshcast: FailoverRun[] = []
  for (let run = 1; run <= P.failoverRuns; run++) meshcast.push(await failoverMeshcast(run))
  const nginx: FailoverRun[] = []
  if (NGINX_MISSING === null)
    for (let run = 1; run <= P.nginxFailoverRuns; run++) nginx.push(await failoverNginx(run))
  const switched = (runs: FailoverRun[]) => runs.filter((r) => r.switched === true).length
  return {
    date: new Date().toISOString(),
    loadAverage: loadavg(),
    meshcast: { ...keptSummary(meshcast), switched: switched(meshcast), runs: meshcast },
    nginx:
      NGINX_MISSING === null
        ? { ...keptSummary(nginx), switched: switched(nginx), runs: nginx }
        : { skipped: NGINX_MISSING },
    nodeMediaServer: {
      skipped: 'a node-media-server relay task pulls from one URL: there is no second origin to fail over to',
    },
  }
}

interface ResumeRun {
  system: SystemName
  run: number
  /** restart → the origin accepts RTMP (meshcast: /api/status ready; eager: its RTMP port accepts) */
  restartMs: number | null
  /** meshcast: restart → the edge shows one view of 2 again */
  viewMs?: number | null
  /** republish (ffmpeg spawn) → first video frame at the player kept on the edge */
  edgeMs: number | null
  /** republish → first keyframe at a player waiting on the origin (ffmpeg start-up included) */
  originMs: number | null
  /** edgeMs - originMs */
  edgeDelayMs: number | null
  kept: KeptPlayer | null
  /** an ffmpeg decoding the same edge stream, from the kill on */
  decoder: DecoderReport | null
  evidence?: string[]
  cpu?: CpuShares
  error?: string
}

interface ResumeDeployment {
  origin: { rtmp(path: string): string }
  edge: { rtmp(path: string): string }
  /** SIGKILL the origin */
  kill(): void
  /** start it again; resolves when it accepts RTMP */
  restart(): Promise<void>
  /** resolves when the edge pulls `path` (or should by now) */
  pulling(path: string): Promise<void>
  /** resolves when a republish can reach the edge (meshcast: one view again) */
  rejoined(): Promise<void>
  /** meshcast: `rejoined` waits for the view */
  waitsForView?: boolean
  evidence(sinceWall: number): string[]
  stop(): Promise<void>
}

async function resumeRun(
  system: SystemName,
  run: number,
  deploy: () => Promise<ResumeDeployment>,
  variant = '',
): Promise<ResumeRun> {
  const path = `/${STREAM_APP}/back`
  const result: ResumeRun = {
    system,
    run,
    restartMs: null,
    edgeMs: null,
    originMs: null,
    edgeDelayMs: null,
    kept: null,
    decoder: null,
  }
  const label = `resume: ${system}${variant === '' ? '' : ` (${variant})`} run ${run}/${P.resumeRuns}`
  let d: ResumeDeployment | null = null
  let pub: Publisher | null = null
  let probe: RtmpProbe | null = null
  let originProbe: RtmpProbe | null = null
  let decoder: FfmpegPlayer | null = null
  try {
    progress(`${label}: starting an origin and an edge`)
    d = await deploy()
    pub = await startPublisher(d.origin.rtmp(path))
    await d.pulling(path)
    probe = new RtmpProbe(d.edge.rtmp(path), true).start()
    decoder = await FfmpegPlayer.start(d.edge.rtmp(path))
    if ((await probe.firstKey(20_000)) === null) throw new Error(`no keyframe at the edge: ${probe.error}`)
    progress(`${label}: playing`)
    const steadyFrom = performance.now()
    await sleep(2000)
    const wall = Date.now()
    const killedAt = performance.now()
    d.kill()
    pub.child.kill('SIGKILL')
    progress(`${label}: origin and publisher SIGKILLed; waiting ${P.downMs} ms`)
    await sleep(P.downMs)
    const restartAt = performance.now()
    await d.restart()
    result.restartMs = round(performance.now() - restartAt, 0)
    await d.rejoined()
    if (d.waitsForView === true) result.viewMs = round(performance.now() - restartAt, 0)
    originProbe = new RtmpProbe(d.origin.rtmp(path)).start()
    await sleep(300) // the origin player is waiting before the publish
    const mark = cpuMark()
    const republishAt = performance.now()
    pub = await startPublisher(d.origin.rtmp(path))
    progress(`${label}: republished; waiting for a frame at the kept player`)
    const kept = probe
    const resumed = await waitFor(() => kept.frames.find((f) => f.at > republishAt), {
      timeout: P.resumeWatchMs,
      interval: 10,
      what: 'a frame at the kept edge player after the republish',
    }).catch(() => null)
    await originProbe.firstKey(5000)
    result.cpu = cpuSince(mark)
    result.edgeMs = round(resumed === null ? null : resumed.at - republishAt, 0)
    result.originMs = round(originProbe.firstKeyAt === null ? null : originProbe.firstKeyAt - republishAt, 0)
    result.edgeDelayMs =
      result.edgeMs === null || result.originMs === null ? null : result.edgeMs - result.originMs
    await sleep(1000)
    result.kept = keptPlayer(probe, killedAt, steadyFrom, performance.now())
    await decoder.stop()
    result.decoder = decoder.report(killedAt)
    result.evidence = d.evidence(wall - 100)
    if (resumed === null) result.error = `no frame at the kept edge player within ${P.resumeWatchMs} ms`
  } catch (err) {
    result.error = errorText(err)
  } finally {
    probe?.close()
    originProbe?.close()
    await decoder?.stop()
    await stopPublishers([pub])
    await d?.stop()
  }
  return result
}

/**
 * `eager`: the stream is republished as soon as the restarted origin's RTMP
 * port accepts (an encoder that keeps retrying), before its mesh has joined;
 * else once the edge shows one view of 2 again (as test/media.test.ts does).
 */
async function deployMeshcastResume(eager: boolean): Promise<ResumeDeployment> {
  const cluster = new TestCluster()
  try {
    await cluster.start({ name: 'origin', args: LOG_ARGS })
    const edge = await cluster.start({
      name: 'edge',
      cluster: { origins: [cluster.address(0)] },
      args: LOG_ARGS,
    })
    const origin = () => cluster.nodes[0] as NodeProcess
    return {
      origin: { rtmp: (path) => `${origin().rtmpUrl}${path}` },
      edge: { rtmp: (path) => `${edge.rtmpUrl}${path}` },
      kill: () => origin().kill('SIGKILL'),
      restart: async () => {
        const node = await cluster.restart(0, { ready: !eager })
        if (eager)
          await waitFor(
            async () => {
              if (node.exit !== null) throw new Error(`the origin exited: ${JSON.stringify(node.exit)}`)
              return (await isListening(node.host, node.rtmpPort, 200)) || undefined
            },
            { timeout: 20_000, interval: 10, what: 'the restarted origin to accept RTMP' },
          )
      },
      pulling: (path) => until('the edge to pull', async () => (await carrierOn(edge, path)) !== undefined),
      waitsForView: !eager,
      rejoined: async () => {
        if (!eager)
          await until('one view of 2 on the edge again', async () => (await viewSize(edge)) === 2, 30_000)
      },
      evidence: (since) => pullLog(edge, since),
      stop: () => cluster.stopAll(),
    }
  } catch (err) {
    await cluster.stopAll()
    throw err
  }
}

async function deployNginxResume(): Promise<ResumeDeployment> {
  const address = loopbackSubnet()
  const origin = await Nginx.start('nginx-origin', address(0))
  const edge = await Nginx.start('nginx-edge', address(1), [
    `pull rtmp://${origin.host}:1935/${STREAM_APP}/back name=back static;`,
  ]).catch(async (err: unknown) => {
    await origin.stop()
    throw err
  })
  return {
    origin,
    edge,
    kill: () => origin.kill(),
    restart: () => origin.restart(),
    pulling: () => sleep(1500),
    rejoined: async () => {},
    evidence: () =>
      edge
        .tail()
        .split('\n')
        .filter((l) => /relay|pull|disconnect/i.test(l))
        .slice(-6),
    stop: async () => {
      await Promise.all([origin.stop(), edge.stop()])
    },
  }
}

async function deployNmsResume(): Promise<ResumeDeployment> {
  const address = loopbackSubnet()
  const origin = await Nms.start('nms-origin', address(0))
  const edge = await Nms.start('nms-edge', address(1)).catch(async (err: unknown) => {
    await origin.stop()
    throw err
  })
  edge.pull(origin.rtmp(`/${STREAM_APP}/back`), `/${STREAM_APP}/back`)
  return {
    origin,
    edge,
    kill: () => origin.kill(),
    restart: () => origin.restart(),
    pulling: () => sleep(1500),
    rejoined: async () => {},
    evidence: () =>
      edge
        .tail(40)
        .split('\n')
        .filter((l) => /relay|RTMP session|reconnect/i.test(l))
        .slice(-6),
    stop: async () => {
      await Promise.all([origin.stop(), edge.stop()])
    },
  }
}

function resumeSummary(runs: ResumeRun[]) {
  return {
    ...keptSummary(runs),
    edgeMedianMs: round(median(nums(runs.map((r) => r.edgeMs))), 0),
    edgeMaxMs: round(max(nums(runs.map((r) => r.edgeMs))), 0),
    resumed: runs.filter((r) => r.edgeMs !== null).length,
    originMedianMs: round(median(nums(runs.map((r) => r.originMs))), 0),
    edgeDelayMedianMs: round(median(nums(runs.map((r) => r.edgeDelayMs))), 0),
    viewMedianMs: round(median(nums(runs.map((r) => r.viewMs))), 0),
    runs,
  }
}

async function phaseResume() {
  const meshcast: ResumeRun[] = []
  for (let run = 1; run <= P.resumeRuns; run++)
    meshcast.push(await resumeRun('meshcast', run, () => deployMeshcastResume(false)))
  const eager: ResumeRun[] = []
  for (let run = 1; run <= P.resumeRuns; run++)
    eager.push(await resumeRun('meshcast', run, () => deployMeshcastResume(true), 'eager republish'))
  const nginx: ResumeRun[] = []
  if (NGINX_MISSING === null)
    for (let run = 1; run <= P.resumeRuns; run++)
      nginx.push(await resumeRun('nginx-rtmp', run, deployNginxResume))
  const nms: ResumeRun[] = []
  for (let run = 1; run <= P.resumeRuns; run++)
    nms.push(await resumeRun('node-media-server', run, deployNmsResume))
  return {
    date: new Date().toISOString(),
    loadAverage: loadavg(),
    meshcast: {
      setup:
        'edge listing the origin; cluster.xml retryDuration default (30 s); republished once the edge shows one view of 2 again (as test/media.test.ts)',
      ...resumeSummary(meshcast),
    },
    meshcastEager: {
      setup:
        'the same, republished as soon as the restarted origin accepts RTMP (an encoder that keeps retrying), before its mesh has joined; restartMs = restart → RTMP accepts',
      ...resumeSummary(eager),
    },
    nginx:
      NGINX_MISSING === null
        ? {
            setup: 'static pull (pull … name=back static), pull_reconnect default (3 s)',
            ...resumeSummary(nginx),
          }
        : { skipped: NGINX_MISSING },
    nodeMediaServer: {
      setup: 'relay task (reconnect on, NMS defaults: 2 s, doubling up to 30 s)',
      ...resumeSummary(nms),
    },
  }
}

// ---- 4. load: edge CPU and RSS ----------------------------------------------------------

interface Window {
  seconds: number
  /** % of one core, per process label */
  cpuPct: Record<string, number | null>
  rssMiB: Record<string, number | null>
  /** this benchmark's own process (the players) */
  benchCpuPct: number | null
  cpu: CpuShares
}

async function measureWindow(pids: Record<string, number>, seconds: number): Promise<Window> {
  const mark = cpuMark()
  const self = process.cpuUsage()
  const entries = Object.entries(pids)
  const window = processCpuWindow(entries.map(([, pid]) => pid))
  await sleep(seconds * 1000)
  const { elapsed, pct } = window.end()
  const used = process.cpuUsage(self)
  const cpuPct = Object.fromEntries(entries.map(([k], i) => [k, pct[i] ?? null]))
  const rss = Object.fromEntries(entries.map(([k, pid]) => [k, round(rssMiB(pid), 1)]))
  return {
    seconds: round(elapsed, 2) ?? seconds,
    cpuPct,
    rssMiB: rss,
    benchCpuPct: round((100 * (used.user + used.system)) / 1e6 / elapsed, 1),
    cpu: cpuSince(mark),
  }
}

interface LoadStep {
  players: number
  /** players that got a first keyframe */
  playing: number
  decodable: number
  /** video frames a second per player over the window */
  fpsMin: number | null
  fpsMedian: number | null
  disconnected: number
  window: Window
}

interface LoadDeployment {
  /** origin and edge, nothing published yet */
  pids: { edge: number; origin: number }
  /** publishes the stream and waits until the edge relays it; returns where the players play */
  publish(): Promise<{ playersOn: 'edge' | 'origin'; playUrl: string; note: string }>
  stop(): Promise<void>
}

/**
 * idle (nothing published) → relaying one stream with no player → 1, 10, 50
 * players, each step measured over a window once every player plays.
 */
async function loadSeries(system: SystemName, deploy: () => Promise<LoadDeployment>) {
  const label = `load: ${system}`
  progress(`${label}: starting an origin and an edge`)
  const d = await deploy()
  const readers: RtmpProbe[] = []
  try {
    await sleep(P.settleMs)
    progress(`${label}: idle for ${P.idleWindowS} s`)
    const idle = await measureWindow(d.pids, P.idleWindowS)
    const { playersOn, playUrl, note } = await d.publish()
    await sleep(P.settleMs)
    progress(`${label}: relaying one stream, no player, for ${P.idleWindowS} s`)
    const relaying = await measureWindow(d.pids, P.idleWindowS)
    const steps: LoadStep[] = []
    for (const n of P.loadPlayers) {
      progress(`${label}: starting ${n} player${n === 1 ? '' : 's'}`)
      for (let i = 0; i < n; i++) readers.push(new RtmpProbe(playUrl).start())
      await Promise.all(readers.map((r) => r.firstKey(20_000)))
      await sleep(2000)
      const frames = readers.map((r) => r.videoFrames)
      progress(`${label}: ${n} player${n === 1 ? '' : 's'} for ${P.loadWindowS} s`)
      const window = await measureWindow(d.pids, P.loadWindowS)
      const fps = readers.map((r, i) => (r.videoFrames - (frames[i] ?? 0)) / window.seconds)
      steps.push({
        players: n,
        playing: readers.filter((r) => r.firstKeyAt !== null).length,
        decodable: readers.filter((r) => r.firstKeyDecodable).length,
        fpsMin: round(min(fps), 1),
        fpsMedian: round(median(fps), 1),
        disconnected: readers.filter((r) => r.closedAt !== null).length,
        window,
      })
      for (const r of readers.splice(0)) r.close()
      await sleep(1500)
    }
    /** the process serving the players */
    const of = (w: Window) => ({ cpu: w.cpuPct[playersOn] ?? null, rss: w.rssMiB[playersOn] ?? null })
    const diff = (a: number | null, b: number | null, k: number, digits: number) =>
      a === null || b === null ? null : round((a - b) / k, digits)
    const first = steps[0]
    const perSubscriber = steps.slice(1).map((s) => {
      const k = s.players - (first?.players ?? 1)
      const a = of(s.window)
      const b = first === undefined ? { cpu: null, rss: null } : of(first.window)
      return { players: s.players, cpuPct: diff(a.cpu, b.cpu, k, 3), rssMiB: diff(a.rss, b.rss, k, 3) }
    })
    // the relay lives in the edge process, wherever the players are
    const edgeOf = (w: Window) => ({ cpu: w.cpuPct.edge ?? null, rss: w.rssMiB.edge ?? null })
    return {
      system,
      playersOn,
      note,
      playUrl,
      idle,
      relaying,
      steps,
      /** the serving process: idle, relaying (no player), then each step */
      servingCpuPct: [idle, relaying, ...steps.map((s) => s.window)].map((w) => of(w).cpu),
      servingRssMiB: [idle, relaying, ...steps.map((s) => s.window)].map((w) => of(w).rss),
      perRelayedStream: {
        cpuPct: diff(edgeOf(relaying).cpu, edgeOf(idle).cpu, 1, 2),
        rssMiB: diff(edgeOf(relaying).rss, edgeOf(idle).rss, 1, 1),
      },
      perSubscriber,
    }
  } finally {
    progress(`${label}: stopping`)
    for (const r of readers) r.close()
    await d.stop()
  }
}

async function loadMeshcast() {
  const path = `/${STREAM_APP}/load`
  return await loadSeries('meshcast', async () => {
    const cluster = new TestCluster()
    let pub: Publisher | null = null
    const stop = async () => {
      await stopPublishers([pub])
      await cluster.stopAll()
    }
    try {
      const origin = await cluster.start({ name: 'origin', args: LOG_ARGS })
      const edge = await cluster.start({
        name: 'edge',
        cluster: { origins: [cluster.address(0)] },
        args: LOG_ARGS,
      })
      return {
        pids: { edge: meshcastServer(edge).pid(), origin: meshcastServer(origin).pid() },
        publish: async () => {
          pub = await startPublisher(`${origin.rtmpUrl}${path}`)
          await until('the edge to pull', async () => (await carrierOn(edge, path))?.source === 'edge')
          return {
            playersOn: 'edge' as const,
            playUrl: `${edge.rtmpUrl}${path}`,
            note: 'edge in repeat mode',
          }
        },
        stop,
      }
    } catch (err) {
      await stop()
      throw err
    }
  })
}

async function loadNginx() {
  const path = `/${STREAM_APP}/load`
  return await loadSeries('nginx-rtmp', async () => {
    const address = loopbackSubnet()
    let pub: Publisher | null = null
    const servers: Nginx[] = []
    const stop = async () => {
      await stopPublishers([pub])
      await Promise.all(servers.map((s) => s.stop()))
    }
    try {
      const origin = await Nginx.start('nginx-origin', address(0))
      servers.push(origin)
      const edge = await Nginx.start('nginx-edge', address(1), [
        `pull rtmp://${origin.host}:1935${path} name=load static;`,
      ])
      servers.push(edge)
      return {
        pids: { edge: edge.pid(), origin: origin.pid() },
        publish: async () => {
          pub = await startPublisher(origin.rtmp(path))
          const probe = new RtmpProbe(edge.rtmp(path)).start()
          const ok = (await probe.firstKey(15_000)) !== null
          probe.close()
          if (!ok) throw new Error(`no keyframe at the nginx edge: ${edge.tail()}`)
          return { playersOn: 'edge' as const, playUrl: edge.rtmp(path), note: 'edge with a static pull' }
        },
        stop,
      }
    } catch (err) {
      await stop()
      throw err
    }
  })
}

async function loadNms() {
  const path = `/${STREAM_APP}/load`
  return await loadSeries('node-media-server', async () => {
    const address = loopbackSubnet()
    let pub: Publisher | null = null
    const servers: Nms[] = []
    const stop = async () => {
      await stopPublishers([pub])
      await Promise.all(servers.map((s) => s.stop()))
    }
    try {
      const origin = await Nms.start('nms-origin', address(0))
      servers.push(origin)
      const edge = await Nms.start('nms-edge', address(1))
      servers.push(edge)
      return {
        pids: { edge: edge.pid(), origin: origin.pid() },
        publish: async () => {
          pub = await startPublisher(origin.rtmp(path))
          await sleep(1500)
          edge.pull(origin.rtmp(path), path)
          await sleep(1000)
          const probe = new RtmpProbe(edge.rtmp(path)).start()
          const key = await probe.firstKey(15_000)
          probe.close()
          if (key !== null && probe.firstKeyDecodable)
            return { playersOn: 'edge' as const, playUrl: edge.rtmp(path), note: 'edge with a relay task' }
          // the relay stays (the edge's figures still count it); the players go to the origin
          return {
            playersOn: 'origin' as const,
            playUrl: origin.rtmp(path),
            note:
              key === null
                ? 'players on the ORIGIN: a player on the relay edge got no keyframe'
                : 'players on the ORIGIN: a player on the relay edge got keyframes but no AVC sequence header before them (undecodable)',
          }
        },
        stop,
      }
    } catch (err) {
      await stop()
      throw err
    }
  })
}

async function phaseLoad() {
  const results = []
  const errors: Record<string, string> = {}
  const skipped: Record<string, string> = {}
  const runs: [SystemName, () => Promise<Awaited<ReturnType<typeof loadSeries>>>][] = [
    ['meshcast', loadMeshcast],
    ['node-media-server', loadNms],
    ['nginx-rtmp', loadNginx],
  ]
  for (const [name, run] of runs) {
    if (name === 'nginx-rtmp' && NGINX_MISSING !== null) {
      skipped[name] = NGINX_MISSING
      continue
    }
    try {
      results.push(await run())
    } catch (err) {
      errors[name] = errorText(err)
    }
  }
  return {
    date: new Date().toISOString(),
    loadAverage: loadavg(),
    players: P.loadPlayers,
    results,
    errors,
    skipped,
  }
}

// ---- run ----------------------------------------------------------------------------

// Ctrl-C: exit through process.exit so the exit hooks SIGKILL every child (nodes, servers, ffmpeg).
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    progressDone()
    console.error(`${signal}: killing every server and publisher`)
    process.exit(130)
  })

/** The commit measured, and whether packages/ had uncommitted changes then. */
function gitState(): { commit: string | null; packagesDirty: boolean | null } {
  try {
    const git = (...args: string[]) =>
      execFileSync('git', args, { cwd: import.meta.dirname, encoding: 'utf8' })
    return {
      commit: git('rev-parse', 'HEAD').trim(),
      packagesDirty: git('status', '--porcelain', '--', '../packages').trim() !== '',
    }
  } catch {
    return { commit: null, packagesDirty: null }
  }
}
const started = performance.now()
const phases: Record<string, unknown> = {}
const phaseErrors: Record<string, string> = {}
const cpuDuring: Record<string, CpuShares> = {}
for (const phase of selected) {
  const mark = cpuMark()
  try {
    if (phase === 'ttff') phases.ttff = await phaseTtff()
    else if (phase === 'failover') phases.failover = await phaseFailover()
    else if (phase === 'resume') phases.resume = await phaseResume()
    else phases.load = await phaseLoad()
  } catch (err) {
    phaseErrors[phase] = errorText(err)
    phases[phase] = { date: new Date().toISOString(), error: errorText(err) }
    process.exitCode = 1
  }
  cpuDuring[phase] = cpuSince(mark)
  Object.assign(phases[phase] as Record<string, unknown>, { cpu: cpuDuring[phase], git: gitState() })
}
progressDone()
const durationS = round((performance.now() - started) / 1000, 1)

// ---- table ----------------------------------------------------------------------------

const rows: Row[] = []
/** ms with a decimal below 100 (TTFF on loopback is a few ms) */
const ms = (v: number | null | undefined) => fmt(v, v != null && Math.abs(v) < 100 ? 1 : 0)
const goalVerdict = (ok: boolean | null) => (ok === null ? '—' : ok ? 'ok' : 'MISSED')
const join2 = (...parts: string[]) => parts.filter(Boolean).join('; ')

const ttff = phases.ttff as Awaited<ReturnType<typeof phaseTtff>> | undefined
if (ttff?.results !== undefined) {
  const find = (system: SystemName, role: Role, proto = 'RTMP') =>
    ttff.results.find((r) => r.system === system && r.role === role && r.proto === proto)
  for (const r of ttff.results) {
    const origin = find(r.system, 'origin', r.proto)
    let goal = ''
    let verdict = ''
    if (r.system === 'meshcast' && r.role === 'warm edge' && origin?.medianMs != null) {
      const limit = P.goals.warmEdgeVsOrigin * origin.medianMs
      goal = `≤ ${P.goals.warmEdgeVsOrigin} × origin = ${ms(limit)}`
      verdict = goalVerdict(r.medianMs === null ? false : r.medianMs <= limit)
      if (r.medianMs !== null && r.medianMs > limit) verdict += ` (+${ms(r.medianMs - origin.medianMs)} ms)`
    } else if (r.system === 'meshcast' && r.role === 'cold edge') {
      goal = `median < ${P.goals.coldEdgeMedianMs}`
      verdict = goalVerdict(r.medianMs === null ? false : r.medianMs < P.goals.coldEdgeMedianMs)
    }
    const undecodable = r.measured - r.decodable
    const failed = r.runs - r.measured
    rows.push([
      `TTFF ${r.system}, ${r.role}${r.tag === undefined ? '' : ` (${r.tag})`}, ${r.proto} (ms, median / p90 / max of ${r.runs}; median ${r.proto === 'RTMP' ? 'Play.Start' : 'headers'})`,
      `${[r.medianMs, r.p90Ms, r.maxMs].map(ms).join(' / ')}; ${ms(r.startMedianMs)}`,
      goal,
      join2(
        verdict,
        failed > 0 ? `FAIL: ${failed} without a keyframe` : '',
        undecodable > 0 ? `${undecodable}/${r.measured} keyframes without a sequence header before` : '',
      ),
    ])
  }
  for (const [system, err] of Object.entries(ttff.errors))
    rows.push([`TTFF ${system}`, err.split('\n')[0] ?? '', '', 'FAIL'])
  for (const [system, why] of Object.entries(ttff.skipped))
    rows.push([`TTFF ${system}`, `skipped: ${why}`, '', ''])
  const note = othersNote(Object.values(ttff.cpuBySystem))
  if (note !== '') rows.push(['  (TTFF phase)', '', '', note])
}

const failover = phases.failover as Awaited<ReturnType<typeof phaseFailover>> | undefined
if (failover?.meshcast !== undefined) {
  const m = failover.meshcast
  const ok =
    m.errors === 0 && m.gapMaxMs !== null && m.gapMaxMs < P.goals.failoverGapMs && m.noFrameAfter === 0
  rows.push([
    `failover gap at a kept edge player, meshcast, 2 origins, SIGKILL the serving one (ms, median / max of ${m.runs.length})`,
    `${fmt(m.gapMedianMs)} / ${fmt(m.gapMaxMs)}`,
    `< ${fmt(P.goals.failoverGapMs)}`,
    join2(goalVerdict(ok), m.errors > 0 ? `FAIL: ${m.errors} run(s) failed` : ''),
  ])
  rows.push([
    '  player disconnected / got an end-of-stream signal / timestamps not monotonic / edge switched (runs)',
    `${m.disconnected} / ${m.withEndSignals} / ${m.nonMonotonic} / ${m.switched}`,
    `0 / 0 / 0 / ${m.runs.length}`,
    goalVerdict(
      m.disconnected === 0 && m.withEndSignals === 0 && m.nonMonotonic === 0 && m.switched === m.runs.length,
    ),
  ])
  rows.push([
    '  decoding ffmpeg on the edge: ended by itself / decoder or muxer complaints after the kill / pts not monotonic (runs)',
    `${m.decoderExited} / ${m.decoderTrouble} / ${m.decoderNonMonotonic}`,
    '0 / 0 / 0',
    goalVerdict(m.decoderExited === 0 && m.decoderTrouble === 0 && m.decoderNonMonotonic === 0),
  ])
  rows.push([
    '  longest pause between frames while steady (ms, all runs)',
    fmt(m.steadyMaxGapMs),
    '',
    othersNote(m.runs.map((r) => r.cpu)),
  ])
  const n = failover.nginx
  if ('skipped' in n) rows.push(['failover, nginx-rtmp', `skipped: ${n.skipped}`, '', ''])
  else
    rows.push([
      `failover, nginx-rtmp, edge with 2 \`pull\` origins (gap ms, median / max; runs with no frame in ${P.watchMs / 1000} s; switched)`,
      `${fmt(n.gapMedianMs)} / ${fmt(n.gapMaxMs)}; ${n.noFrameAfter}/${n.runs.length}; ${n.switched}/${n.runs.length}`,
      '',
      join2(
        n.disconnected > 0 ? `${n.disconnected} run(s): player disconnected` : '',
        n.withEndSignals > 0 ? `${n.withEndSignals} run(s): end-of-stream signal to the player` : '',
        n.decoderExited > 0 ? `${n.decoderExited} run(s): the decoding ffmpeg ended` : '',
        n.errors > 0 ? `${n.errors} run(s) failed` : '',
      ),
    ])
  rows.push(['failover, node-media-server', failover.nodeMediaServer.skipped, '', 'n/a'])
}

const resume = phases.resume as Awaited<ReturnType<typeof phaseResume>> | undefined
if (resume?.meshcast !== undefined) {
  const m = resume.meshcast
  rows.push([
    `resume, meshcast: republish → first frame at the kept edge player (ms, median / max of ${m.runs.length})`,
    `${fmt(m.edgeMedianMs)} / ${fmt(m.edgeMaxMs)}`,
    `≤ ${fmt(P.goals.resumeMs)}`,
    join2(
      goalVerdict(m.resumed === m.runs.length && m.edgeMaxMs !== null && m.edgeMaxMs <= P.goals.resumeMs),
      m.resumed < m.runs.length ? `FAIL: ${m.runs.length - m.resumed} never resumed` : '',
    ),
  ])
  rows.push([
    '  republish → first keyframe at a player on the origin; edge delay beyond it (ms, median)',
    `${fmt(m.originMedianMs)}; ${fmt(m.edgeDelayMedianMs)}`,
    '',
    '',
  ])
  const e = resume.meshcastEager
  rows.push([
    `  same, republished as soon as the restarted origin accepts RTMP, before its mesh joined (ms, median / max; origin player)`,
    `${fmt(e.edgeMedianMs)} / ${fmt(e.edgeMaxMs)}; ${fmt(e.originMedianMs)}`,
    `≤ ${fmt(P.goals.resumeMs)}`,
    join2(
      goalVerdict(e.resumed === e.runs.length && e.edgeMaxMs !== null && e.edgeMaxMs <= P.goals.resumeMs),
      e.resumed < e.runs.length ? `FAIL: ${e.runs.length - e.resumed} never resumed` : '',
      e.disconnected + e.withEndSignals + e.nonMonotonic + e.decoderExited + e.decoderTrouble > 0
        ? 'player trouble: see JSON'
        : '',
    ),
  ])
  rows.push([
    '  player disconnected / end-of-stream signal / timestamps not monotonic; decoding ffmpeg ended / complained (runs)',
    `${m.disconnected} / ${m.withEndSignals} / ${m.nonMonotonic}; ${m.decoderExited} / ${m.decoderTrouble}`,
    '0 / 0 / 0; 0 / 0',
    goalVerdict(
      m.disconnected === 0 &&
        m.withEndSignals === 0 &&
        m.nonMonotonic === 0 &&
        m.decoderExited === 0 &&
        m.decoderTrouble === 0,
    ),
  ])
  for (const [name, s] of [
    ['nginx-rtmp (static pull)', resume.nginx],
    ['node-media-server (relay task)', resume.nodeMediaServer],
  ] as const) {
    if ('skipped' in s) {
      rows.push([`resume, ${name}`, `skipped: ${s.skipped}`, '', ''])
      continue
    }
    rows.push([
      `resume, ${name}: republish → kept edge player; origin player (ms, median)`,
      `${fmt(s.edgeMedianMs)}; ${fmt(s.originMedianMs)}`,
      '',
      join2(
        s.resumed < s.runs.length ? `${s.runs.length - s.resumed}/${s.runs.length} never resumed` : '',
        s.withEndSignals > 0 ? `${s.withEndSignals}/${s.runs.length} end-of-stream signal to the player` : '',
        s.disconnected > 0 ? `${s.disconnected}/${s.runs.length} player disconnected` : '',
        s.nonMonotonic > 0 ? `${s.nonMonotonic}/${s.runs.length} timestamps not monotonic` : '',
        s.decoderTrouble > 0 ? `${s.decoderTrouble}/${s.runs.length} decoding ffmpeg complained` : '',
      ),
    ])
  }
}

const load = phases.load as Awaited<ReturnType<typeof phaseLoad>> | undefined
if (load?.results !== undefined) {
  const nginx = load.results.find((r) => r.system === 'nginx-rtmp')
  const nginxPerSub = nginx?.perSubscriber[nginx.perSubscriber.length - 1]?.cpuPct ?? null
  const lastN = P.loadPlayers[P.loadPlayers.length - 1] ?? 0
  for (const r of load.results) {
    const steps = r.steps
    const label = `${['idle', 'relaying, 0'].concat(steps.map((s) => String(s.players))).join(' / ')} players`
    rows.push([
      `${r.system} ${r.playersOn === 'edge' ? 'edge' : 'ORIGIN (its relay edge gave no decodable stream)'} CPU, % of a core (${label})`,
      r.servingCpuPct.map((v) => fmt(v, 1)).join(' / '),
      '',
      othersNote([r.idle.cpu, r.relaying.cpu, ...steps.map((s) => s.window.cpu)]),
    ])
    rows.push([
      `  RSS, MiB (same)`,
      r.servingRssMiB.map((v) => fmt(v, 1)).join(' / '),
      '',
      join2(
        ...steps.map((s) =>
          s.playing < s.players || s.disconnected > 0 || (s.fpsMin ?? 0) < 20
            ? `${s.players}: ${s.playing} playing, ${s.disconnected} cut, min ${fmt(s.fpsMin, 1)} fps`
            : '',
        ),
      ),
    ])
    rows.push([
      '  per relayed stream (edge process): CPU % / RSS MiB',
      `${fmt(r.perRelayedStream.cpuPct, 2)} / ${fmt(r.perRelayedStream.rssMiB, 1)}`,
      '',
      '',
    ])
    const ps = r.perSubscriber
    const last = ps[ps.length - 1]
    let goal = ''
    let verdict = ''
    if (r.system === 'meshcast' && nginxPerSub !== null && last !== undefined) {
      const limit = P.goals.cpuPerSubscriberVsNginx * nginxPerSub
      goal = `≤ ${P.goals.cpuPerSubscriberVsNginx} × nginx-rtmp = ${fmt(limit, 3)}`
      verdict = goalVerdict(last.cpuPct !== null && last.cpuPct <= limit)
    }
    rows.push([
      `  per subscriber, over 1 player (${ps.map((s) => s.players).join(' / ')} players): CPU % / RSS MiB`,
      ps.map((s) => `${fmt(s.cpuPct, 3)} / ${fmt(s.rssMiB, 2)}`).join('; '),
      goal,
      verdict,
    ])
  }
  const mc = load.results.find((r) => r.system === 'meshcast')
  if (mc !== undefined) {
    const origin = mc.idle.rssMiB.origin ?? null
    const edge = mc.idle.rssMiB.edge ?? null
    rows.push([
      'idle RSS of a meshcast node, no stream (MiB: origin / edge)',
      `${fmt(origin, 1)} / ${fmt(edge, 1)}`,
      `≤ 120 MB = ${fmt(P.goals.idleRssMiB, 1)} MiB`,
      goalVerdict(origin !== null && edge !== null && Math.max(origin, edge) <= P.goals.idleRssMiB),
    ])
  }
  const nms = load.results.find((r) => r.system === 'node-media-server')
  if (nginx !== undefined)
    for (const other of [mc, nms]) {
      if (other === undefined) continue
      const ratio = (x: number | null | undefined, y: number | null | undefined) =>
        x == null || y == null || y === 0 ? null : x / y
      const cpu = ratio(other.servingCpuPct.at(-1), nginx.servingCpuPct.at(-1))
      const rss = ratio(other.servingRssMiB.at(-1), nginx.servingRssMiB.at(-1))
      rows.push([
        `${other.system} ${other.playersOn} vs nginx-rtmp edge at ${lastN} players: CPU × / RSS ×`,
        `${fmt(cpu, 1)} / ${fmt(rss, 1)}`,
        '',
        '',
      ])
    }
  for (const [system, err] of Object.entries(load.errors))
    rows.push([`load ${system}`, err.split('\n')[0] ?? '', '', 'FAIL'])
  for (const [system, why] of Object.entries(load.skipped))
    rows.push([`load ${system}`, `skipped: ${why}`, '', ''])
}

for (const [phase, err] of Object.entries(phaseErrors)) rows.push([`${phase}: phase failed`, err, '', 'FAIL'])

const header: Row = ['measurement', 'result', 'goal', '']
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
const line = (r: Row) => `| ${r.map((c, i) => c.padEnd(widths[i] as number)).join(' | ')} |`
console.log(line(header))
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`)
for (const r of rows) console.log(line(r))
console.log(
  `method: players are ${METHOD.players}; TTFF ${METHOD.ttff}; publisher: ${METHOD.publisher}; nginx: ${METHOD.nginx}`,
)
console.log(
  `machine CPU per phase (% busy / % used by processes outside this benchmark / % stolen): ${Object.entries(
    cpuDuring,
  )
    .map(([phase, c]) => `${phase} ${fmt(c.busyPct)} / ${fmt(c.foreignPct, 1)} / ${fmt(c.stealPct, 1)}`)
    .join(', ')}`,
)
console.log(
  `${QUICK ? 'quick run' : 'run'} took ${fmt(durationS)} s on ${cpus().length} CPUs, Node ${process.version}`,
)

// ---- results file ---------------------------------------------------------------------

// A quick run is a smoke test: its figures go to the temp folder, never over the real ones.
const out = QUICK
  ? join(tmpdir(), 'meshcast-bench-media-quick.json')
  : join(import.meta.dirname, 'results', 'media.json')
const previous =
  !QUICK && selected.length < PHASES.length && existsSync(out)
    ? (JSON.parse(readFileSync(out, 'utf8')) as { phases?: Record<string, unknown> })
    : {}
const result = {
  ...previous,
  date: new Date().toISOString(),
  git: gitState(),
  machine: {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? null,
    memoryGiB: round(totalmem() / 2 ** 30, 1),
    kernel: release(),
    platform: process.platform,
  },
  node: process.version,
  versions: { nodeMediaServer: NMS_VERSION, ...nginxVersions() },
  command: `node bench/media.ts ${argv.join(' ')}`.trim(),
  quick: QUICK,
  lastRun: { phases: selected, durationS },
  method: METHOD,
  parameters: { ...P, daemonArgs: LOG_ARGS, clockTicksPerSecond: CLK_TCK },
  phases: { ...previous.phases, ...phases },
}
writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`)
console.log(`written ${out}`)
