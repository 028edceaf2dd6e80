// Benchmark: the media plane, side by side with node-media-server standalone and
// nginx-rtmp (Debian's libnginx-mod-rtmp, when installed). Time to first frame
// (TTFF) of a new player on an origin, on an edge already carrying the stream and
// on an edge that must start its pull; the failover gap at a kept edge player when
// the serving origin is SIGKILLed (a second origin has the stream); resume after
// the origin comes back and the stream is republished (no alternative); edge CPU
// and RSS idle, relaying one stream, and at 1, 10 and 50 players; an edge relaying
// 50 streams of 2 Mbit/s nobody watches; an edge serving a ladder of players (up to
// 1,000: on this 2-core box, 2,000 players of 2 Mbit/s saturate loopback itself) until a
// frame comes late.
// Prints a table on stdout, progress on stderr, and writes bench/results/media.json
// (a run of some phases only updates those phases in it, each phase keeping the
// commit it was measured at; a --quick run writes to the temp folder instead, and
// says where).
// Usage: npx -y pnpm@10 bench:media [ttff] [failover] [resume] [load] [relay] [players] [--quick]
//
// Every player is an in-process probe in this benchmark's process (one process
// for all players keeps the load on the servers, not on 50 ffmpeg processes):
// RTMP through node-media-server's RtmpClient (TCP_NODELAY, ACKs as bytes
// arrive, ends on nothing but the socket), HTTP-FLV through fetch. TTFF is from
// before the TCP connect to the first video keyframe message/tag (connect,
// createStream and play included); a keyframe is "decodable" when the AVC
// sequence header came before it.
//
// The parts, under bench/media/: systems/ (how meshcast, node-media-server and
// nginx-rtmp deploy for each phase), phases/ (the measurements), report.ts
// (the table).
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { CLK_TCK, type CpuShares, cpuMark, cpuSince, errorText, progressDone, round } from './lib.ts'
import { LOG_ARGS, METHOD, PHASES, type Phase, params } from './media/params.ts'
import { phaseFailover } from './media/phases/failover.ts'
import { phaseLoad } from './media/phases/load.ts'
import { phasePlayers } from './media/phases/players.ts'
import { phaseRelay } from './media/phases/relay.ts'
import { phaseResume } from './media/phases/resume.ts'
import { phaseTtff } from './media/phases/ttff.ts'
import { printReport, type Results, tableRows } from './media/report.ts'
import { meshcast } from './media/systems/meshcast.ts'
import { nginx } from './media/systems/nginx.ts'
import { nginxVersions } from './media/systems/nginx-server.ts'
import { nms } from './media/systems/nms.ts'
import { nmsVersion } from './media/systems/nms-server.ts'
import { type GitState, gitState, writeResults } from './results.ts'

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
const P = params(QUICK)

// Ctrl-C: exit through process.exit so the exit hooks SIGKILL every child (nodes, servers, ffmpeg).
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    progressDone()
    console.error(`${signal}: killing every server and publisher`)
    process.exit(130)
  })

const results: Results = {}

/** Runs one phase into `results`; returns it as the results file has it. */
async function runPhase(phase: Phase): Promise<Record<string, unknown>> {
  const all = [meshcast, nms, nginx]
  switch (phase) {
    case 'ttff':
      results.ttff = await phaseTtff(P, all)
      return { ...results.ttff }
    case 'failover':
      results.failover = await phaseFailover(P, { meshcast, nginx, nms })
      return { ...results.failover }
    case 'resume':
      results.resume = await phaseResume(P, { meshcast, nginx, nms })
      return { ...results.resume }
    case 'load':
      results.load = await phaseLoad(P, all)
      return { ...results.load }
    case 'relay':
      results.relay = await phaseRelay(P, all)
      return { ...results.relay }
    case 'players':
      results.players = await phasePlayers(P, all)
      return { ...results.players }
  }
}

const started = performance.now()
/** each phase as written: its figures (or its error), the machine's CPU during it, the commit it measured */
const records: Record<string, Record<string, unknown> & { git: GitState }> = {}
const phaseErrors: Partial<Record<Phase, string>> = {}
const cpuDuring: Partial<Record<Phase, CpuShares>> = {}
for (const phase of selected) {
  const mark = cpuMark()
  let record: Record<string, unknown>
  try {
    record = await runPhase(phase)
  } catch (err) {
    phaseErrors[phase] = errorText(err)
    record = { date: new Date().toISOString(), error: errorText(err) }
    process.exitCode = 1
  }
  const cpu = cpuSince(mark)
  cpuDuring[phase] = cpu
  records[phase] = { ...record, cpu, git: gitState() }
}
progressDone()
const durationS = round((performance.now() - started) / 1000, 1)

printReport(tableRows(P, results, phaseErrors), { cpuDuring, quick: QUICK, durationS, cpus: cpus().length })

// A quick run is a smoke test: its figures go to the temp folder, never over the real ones.
const out = QUICK
  ? join(tmpdir(), 'meshcast-bench-media-quick.json')
  : join(import.meta.dirname, 'results', 'media.json')
writeResults(
  out,
  {
    versions: { nodeMediaServer: nmsVersion(), ...nginxVersions() },
    command: `node bench/media.ts ${argv.join(' ')}`.trim(),
    quick: QUICK,
    lastRun: { phases: selected, durationS },
    method: METHOD,
    parameters: { ...P, daemonArgs: LOG_ARGS, clockTicksPerSecond: CLK_TCK },
    phases: records,
  },
  !QUICK && selected.length < PHASES.length,
)
console.log(`written ${out}`)
