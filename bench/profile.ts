// Where an edge spends its CPU: an origin and an edge (meshcast daemons), the
// edge under V8's sampling profiler (--cpu-prof), relaying `--streams` streams
// and serving `--players` RTMP sink players (bench/media/sinks.ts) for `--seconds`. Prints the
// edge's CPU and RSS over the window and its self time by function and by
// module, so a change to the media path can be profiled before and after.
//
//   node bench/profile.ts [--streams 1] [--players 0] [--seconds 20] [--bitrate 2000k] [--keep DIR]
//
// --keep DIR keeps the profile there, and with --node-options all the edge printed that is not a
// log record (edge-output.txt).
//
// One stream is ffmpeg's test pattern; more are copies of a clip encoded once
// (`-c copy`, cheap), so fifty streams do not need fifty encoders.
import { spawn } from 'node:child_process'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { ffmpegPath, testPatternArgs } from '@meshcast/node/ffmpeg'
import { carrierOn, type NodeProcess, TestCluster } from '@meshcast/testing'
import { CLK_TCK, daemonPid, progress, progressDone, round, sleep } from './lib.ts'
import { tempDir, track } from './media/children.ts'
import { encodeClip, replay } from './media/clip.ts'
import { measureWindow } from './media/phases/window.ts'
import { Sinks } from './media/sinks.ts'
import { until } from './media/until.ts'

const OPTIONS = {
  options: {
    streams: { type: 'string', default: '1' },
    players: { type: 'string', default: '0' },
    seconds: { type: 'string', default: '20' },
    bitrate: { type: 'string', default: '2000k' },
    keep: { type: 'string' },
    top: { type: 'string', default: '30' },
    /** no profiler: the CPU figures alone (the profiler's own thread costs a few % of a core) */
    bare: { type: 'boolean', default: false },
    /**
     * more flags for the edge's Node, as NODE_OPTIONS takes them (e.g. --max-semi-space-size=8 in place of the launcher's; V8's
     * --trace-gc is refused there: `--import` a file that calls v8.setFlagsFromString). What the edge
     * printed that is not a log record is shown at the end.
     */
    'node-options': { type: 'string', default: '' },
  },
} as const
const USAGE =
  'usage: node bench/profile.ts [--streams N] [--players N] [--seconds N] [--bitrate 2000k] [--keep DIR] [--top N] [--bare] [--node-options=...]'
if (process.argv.includes('--help')) {
  console.log(USAGE)
  process.exit(0)
}
const { values } = (() => {
  try {
    return parseArgs(OPTIONS)
  } catch (e) {
    // parseArgs' own message (an unknown or ambiguous option), not a stack trace
    console.error(`${(e as Error).message}\n${USAGE}`)
    process.exit(2)
  }
})()
const STREAMS = Number(values.streams)
const PLAYERS = Number(values.players)
const SECONDS = Number(values.seconds)
const TOP = Number(values.top)
for (const [k, v] of Object.entries({ streams: STREAMS, players: PLAYERS, seconds: SECONDS, top: TOP }))
  if (!Number.isInteger(v) || v < 0 || (k !== 'players' && v === 0)) {
    console.error(`--${k} must be a whole number${k === 'players' ? '' : ' above 0'}\n${USAGE}`)
    process.exit(2)
  }
/** let the JIT and the pulls settle before the window */
const WARMUP_MS = 3000

interface CallFrame {
  functionName: string
  url: string
  lineNumber: number
}
interface ProfileNode {
  id: number
  callFrame: CallFrame
  hitCount?: number
}
interface CpuProfile {
  nodes: ProfileNode[]
  startTime: number
  endTime: number
  samples: number[]
  /** µs since the previous sample (the first: since startTime) */
  timeDeltas: number[]
}

/** Where a function lives, in the project's words: a package's file, node-media-server's, node's own. */
function moduleOf(url: string, name: string): string {
  if (url === '') return name.startsWith('(') ? name : '(native)'
  const nms = /node-media-server\/src\/(.*)$/.exec(url)
  if (nms) return `nms:${nms[1]}`
  const pkg = /packages\/([^/]+)\/src\/(.*)$/.exec(url)
  if (pkg) return `${pkg[1]}:${pkg[2]}`
  const dep = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)\//.exec(url)
  if (dep) return `dep:${dep[1]}`
  if (url.startsWith('node:')) return url
  return url.replace(/^file:\/\//, '')
}

interface Share {
  key: string
  ms: number
  pct: number
}

/** The samples taken between `fromEndMs` and `toEndMs` before the profile's end (the window, as the edge's exit follows it). */
function summarize(
  profile: CpuProfile,
  fromEndMs: number,
  toEndMs: number,
): { totalMs: number; busyMs: number; byFunction: Share[]; byModule: Share[] } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const from = profile.endTime - fromEndMs * 1000
  const to = profile.endTime - toEndMs * 1000
  const fn = new Map<string, number>()
  const mod = new Map<string, number>()
  let busy = 0
  let t = profile.startTime
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i] ?? 0
    t += delta
    if (t < from || t > to) continue
    const node = byId.get(profile.samples[i] as number)
    if (node === undefined) continue
    const perSample = delta / 1000
    const { functionName, url, lineNumber } = node.callFrame
    if (functionName === '(idle)') continue
    busy += perSample
    const m = moduleOf(url, functionName)
    const f = `${functionName || '(anonymous)'} ${m}:${lineNumber + 1}`
    fn.set(f, (fn.get(f) ?? 0) + perSample)
    mod.set(m, (mod.get(m) ?? 0) + perSample)
  }
  const shares = (map: Map<string, number>) =>
    [...map]
      .map(([key, ms]) => ({ key, ms: round(ms, 0) ?? 0, pct: round((100 * ms) / busy, 1) ?? 0 }))
      .sort((a, b) => b.ms - a.ms)
  return { totalMs: fromEndMs - toEndMs, busyMs: busy, byFunction: shares(fn), byModule: shares(mod) }
}

/** CPU ticks (utime, stime) of each thread of `pid`, by thread name. */
function threadTicks(pid: number): Map<string, [number, number]> {
  const out = new Map<string, [number, number]>()
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      const key = tid === String(pid) ? 'main' : name
      const [u, k] = out.get(key) ?? [0, 0]
      out.set(key, [u + Number(f[11]), k + Number(f[12])])
    } catch {
      // the thread ended
    }
  }
  return out
}

/** The node's memory as its /metrics tells it: RSS, JavaScript heap used, external (bytes). */
async function memoryFigures(
  node: NodeProcess,
): Promise<{ rss?: number; heapUsed?: number; heapTotal?: number; external?: number }> {
  const text = await (await node.httpGet('/metrics')).text()
  const read = (name: string) => {
    const m = new RegExp(`^${name} ([\\d.e+-]+)$`, 'm').exec(text)
    return m === null ? undefined : Number(m[1])
  }
  return {
    rss: read('process_resident_memory_bytes'),
    heapUsed: read('nodejs_heap_size_used_bytes'),
    heapTotal: read('nodejs_heap_size_total_bytes'),
    external: read('nodejs_external_memory_bytes'),
  }
}

async function sinkReport(players: readonly Sinks[]) {
  const all = await Promise.all(players.map((p) => p.report()))
  const sum = (values: readonly number[]) => values.reduce((n, v) => n + v, 0)
  return { playing: sum(all.map((r) => r.playing)), bytes: sum(all.flatMap((r) => r.bytes)) }
}

/** Collections so far by kind: [count, seconds], from the node's /metrics. */
async function gcFigures(node: NodeProcess): Promise<Map<string, [number, number]>> {
  const text = await (await node.httpGet('/metrics')).text()
  const out = new Map<string, [number, number]>()
  for (const m of text.matchAll(/^nodejs_gc_duration_seconds_(count|sum)\{kind="(\w+)"\} ([\d.e+-]+)$/gm)) {
    const [, what, kind = '', value] = m
    const entry = out.get(kind) ?? [0, 0]
    entry[what === 'count' ? 0 : 1] = Number(value)
    out.set(kind, entry)
  }
  return out
}

async function main(): Promise<void> {
  const dir = tempDir('meshcast-profile-')
  const profDir = values.keep ?? join(dir, 'prof')
  const cluster = new TestCluster()
  const players: Sinks[] = []
  try {
    progress('profile: starting an origin and an edge (the edge under --cpu-prof)')
    const origin = await cluster.start({ name: 'origin', args: ['--log-level', 'info'] })
    const edge: NodeProcess = await cluster.start({
      name: 'edge',
      cluster: { origins: [cluster.address(0)] },
      args: ['--log-level', 'info'],
      env: {
        NODE_OPTIONS: `${values.bare ? '' : `--cpu-prof --cpu-prof-dir=${profDir} `}${values['node-options']}`,
      },
    })
    const pid = daemonPid(edge.child.pid as number)
    await sleep(WARMUP_MS)
    progress(`profile: the edge idle for ${SECONDS} s`)
    const idle = await measureWindow({ edge: pid }, SECONDS)
    const idleMemory = await memoryFigures(edge)
    const paths = Array.from({ length: STREAMS }, (_, i) => `/live/p${i}`)
    if (STREAMS === 1) {
      const args = testPatternArgs(`${origin.rtmpUrl}${paths[0]}`, { videoBitrate: values.bitrate })
      track(spawn(ffmpegPath(), args, { stdio: 'ignore' }))
    } else {
      progress(`profile: encoding a ${values.bitrate} clip`)
      const clip = await encodeClip(dir, values.bitrate, 10)
      for (const p of paths) replay(clip, `${origin.rtmpUrl}${p}`)
    }
    progress(`profile: waiting for the edge to pull ${STREAMS} stream${STREAMS === 1 ? '' : 's'}`)
    for (const p of paths)
      await until(`the edge to pull ${p}`, async () => (await carrierOn(edge, p))?.source === 'edge')
    for (let i = 0; i < STREAMS && PLAYERS > 0; i++) {
      const share = Math.floor(PLAYERS / STREAMS) + (i < PLAYERS % STREAMS ? 1 : 0)
      if (share > 0) players.push(new Sinks(`${edge.rtmpUrl}${paths[i]}`, share))
    }
    await Promise.all(players.map((p) => p.report()))
    await sleep(WARMUP_MS)
    progress(`profile: measuring for ${SECONDS} s`)
    const bytesBefore = (await sinkReport(players)).bytes
    const threadsBefore = threadTicks(pid)
    const gcBefore = await gcFigures(edge)
    const window = await measureWindow({ edge: pid, origin: daemonPid(origin.child.pid as number) }, SECONDS)
    const threadsAfter = threadTicks(pid)
    const gcAfter = await gcFigures(edge)
    const windowEnd = performance.now()
    const endMemory = await memoryFigures(edge)
    const got = await sinkReport(players)
    for (const p of players.splice(0)) p.stop()
    progress('profile: stopping the edge (it writes its profile on exit)')
    await edge.stop()
    const stopMs = performance.now() - windowEnd
    progressDone()
    const pct = (v: number | null | undefined) => (v === null || v === undefined ? '-' : `${v} %`)
    console.log(`edge idle: CPU ${pct(idle.cpuPct.edge)} of a core, RSS ${idle.rssMiB.edge} MiB`)
    console.log(
      `edge: ${STREAMS} stream(s) at ${values.bitrate}, ${PLAYERS} player(s), ${window.seconds} s: ` +
        `CPU ${pct(window.cpuPct.edge)} of a core, RSS ${window.rssMiB.edge} MiB; origin CPU ${pct(window.cpuPct.origin)}`,
    )
    if (PLAYERS > 0)
      console.log(
        `players: ${got.playing} of ${PLAYERS} playing, ${round((got.bytes - bytesBefore) / Math.max(1, got.playing) / 1024 / window.seconds, 1)} KiB/s each`,
      )
    const mib = (v: number | undefined) => round((v ?? 0) / 2 ** 20, 1)
    console.log(
      `memory (MiB, idle -> end of the window): RSS ${mib(idleMemory.rss)} -> ${mib(endMemory.rss)}, ` +
        `JavaScript heap used ${mib(idleMemory.heapUsed)} -> ${mib(endMemory.heapUsed)} ` +
        `(of ${mib(idleMemory.heapTotal)} -> ${mib(endMemory.heapTotal)} held), ` +
        `external (buffers) ${mib(idleMemory.external)} -> ${mib(endMemory.external)}`,
    )
    console.log('threads (% of a core over the window: user + system)')
    for (const [name, [u1, k1]] of threadsAfter) {
      const [u0, k0] = threadsBefore.get(name) ?? [0, 0]
      const share = (ticks: number) => round((100 * ticks) / CLK_TCK / window.seconds, 2)
      if (u1 - u0 + k1 - k0 > 0) console.log(`  ${name}: ${share(u1 - u0)} + ${share(k1 - k0)} %`)
    }
    console.log("collections over the window (prom-client's nodejs_gc_duration_seconds)")
    for (const [kind, [n1, s1]] of gcAfter) {
      const [n0, s0] = gcBefore.get(kind) ?? [0, 0]
      if (n1 > n0) console.log(`  ${kind}: ${n1 - n0} taking ${round((s1 - s0) * 1000, 0)} ms`)
    }
    if (values['node-options'] !== '') {
      const lines = edge
        .log()
        .split('\n')
        .filter((l) => !l.startsWith('{'))
      console.log(
        `\nthe edge's other output (${lines.length} lines, the last 40):\n${lines.slice(-40).join('\n')}`,
      )
      if (values.keep !== undefined) {
        writeFileSync(join(values.keep, 'edge-output.txt'), `${lines.join('\n')}\n`)
        console.log(`all of it kept: ${join(values.keep, 'edge-output.txt')}`)
      }
    }
    if (values.bare) return
    const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'))
    if (file === undefined) throw new Error(`the edge wrote no profile into ${profDir}`)
    const profile = JSON.parse(readFileSync(join(profDir, file), 'utf8')) as CpuProfile
    const s = summarize(profile, stopMs + window.seconds * 1000, stopMs)
    console.log(
      `profile of the main thread over the window: ${round(s.totalMs / 1000, 1)} s, JavaScript and native calls busy ${round(s.busyMs / 1000, 2)} s`,
    )
    console.log('\nself time by module')
    for (const m of s.byModule.slice(0, TOP))
      console.log(`${String(m.pct).padStart(5)} %  ${m.ms} ms  ${m.key}`)
    console.log('\nself time by function')
    for (const f of s.byFunction.slice(0, TOP))
      console.log(`${String(f.pct).padStart(5)} %  ${f.ms} ms  ${f.key}`)
    if (values.keep !== undefined) console.log(`\nprofile kept: ${join(profDir, file)}`)
  } finally {
    for (const p of players) p.stop()
    await cluster.stopAll()
  }
}

await main()
