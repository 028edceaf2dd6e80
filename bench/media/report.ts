// The printed table: one row per figure, with the goal it is judged against
// and the verdict, from the phases' typed results.
import { type CpuShares, fmt, othersNote, printTable, type Row } from '../lib.ts'
import { METHOD, type Params, type Phase } from './params.ts'
import type { FailoverPhase, FailoverSummary } from './phases/failover.ts'
import type { Skipped } from './phases/kept-player.ts'
import type { LoadPhase } from './phases/load.ts'
import type { PlayersPhase } from './phases/players.ts'
import type { RelayPhase } from './phases/relay.ts'
import type { ResumePhase, ResumeSummary } from './phases/resume.ts'
import type { Role, TtffPhase } from './phases/ttff.ts'
import type { Proto, SystemName } from './system.ts'

export interface Results {
  ttff?: TtffPhase
  failover?: FailoverPhase
  resume?: ResumePhase
  load?: LoadPhase
  relay?: RelayPhase
  players?: PlayersPhase
}

/** ms with a decimal below 100 (TTFF on loopback is a few ms) */
const ms = (v: number | null | undefined) => fmt(v, v != null && Math.abs(v) < 100 ? 1 : 0)
const goalVerdict = (ok: boolean | null) => (ok === null ? '—' : ok ? 'ok' : 'MISSED')
const join2 = (...parts: string[]) => parts.filter(Boolean).join('; ')

function ttffRows(P: Params, ttff: TtffPhase): Row[] {
  const rows: Row[] = []
  const find = (system: SystemName, role: Role, proto: Proto) =>
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
  return rows
}

/** meshcast's failover, judged against the goals. */
function meshcastFailoverRows(P: Params, m: FailoverSummary): Row[] {
  const ok =
    m.errors === 0 && m.gapMaxMs !== null && m.gapMaxMs < P.goals.failoverGapMs && m.noFrameAfter === 0
  return [
    [
      `failover gap at a kept edge player, meshcast, 2 origins, SIGKILL the serving one (ms, median / max of ${m.runs.length})`,
      `${fmt(m.gapMedianMs)} / ${fmt(m.gapMaxMs)}`,
      `< ${fmt(P.goals.failoverGapMs)}`,
      join2(goalVerdict(ok), m.errors > 0 ? `FAIL: ${m.errors} run(s) failed` : ''),
    ],
    [
      '  player disconnected / got an end-of-stream signal / timestamps not monotonic / edge switched (runs)',
      `${m.disconnected} / ${m.withEndSignals} / ${m.nonMonotonic} / ${m.switched}`,
      `0 / 0 / 0 / ${m.runs.length}`,
      goalVerdict(
        m.disconnected === 0 &&
          m.withEndSignals === 0 &&
          m.nonMonotonic === 0 &&
          m.switched === m.runs.length,
      ),
    ],
    [
      '  decoding ffmpeg on the edge: ended by itself / decoder or muxer complaints after the kill / pts not monotonic (runs)',
      `${m.decoderExited} / ${m.decoderTrouble} / ${m.decoderNonMonotonic}`,
      '0 / 0 / 0',
      goalVerdict(m.decoderExited === 0 && m.decoderTrouble === 0 && m.decoderNonMonotonic === 0),
    ],
    [
      '  longest pause between frames while steady (ms, all runs)',
      fmt(m.steadyMaxGapMs),
      '',
      othersNote(m.runs.map((r) => r.cpu)),
    ],
  ]
}

/** Another system's failover, for comparison: no goal. */
function otherFailoverRow(P: Params, what: string, n: FailoverSummary): Row {
  return [
    `failover, ${what} (gap ms, median / max; runs with no frame in ${P.watchMs / 1000} s; switched)`,
    `${fmt(n.gapMedianMs)} / ${fmt(n.gapMaxMs)}; ${n.noFrameAfter}/${n.runs.length}; ${n.switched}/${n.runs.length}`,
    '',
    join2(
      n.disconnected > 0 ? `${n.disconnected} run(s): player disconnected` : '',
      n.withEndSignals > 0 ? `${n.withEndSignals} run(s): end-of-stream signal to the player` : '',
      n.decoderExited > 0 ? `${n.decoderExited} run(s): the decoding ffmpeg ended` : '',
      n.errors > 0 ? `${n.errors} run(s) failed` : '',
    ),
  ]
}

const skippedRow = (what: string, s: Skipped): Row => [what, `skipped: ${s.skipped}`, '', '']

function failoverRows(P: Params, f: FailoverPhase): Row[] {
  const rows: Row[] = []
  const { meshcast: m, nginx: n, nodeMediaServer: s } = f
  rows.push(...('skipped' in m ? [skippedRow('failover, meshcast', m)] : meshcastFailoverRows(P, m)))
  rows.push(
    'skipped' in n
      ? skippedRow('failover, nginx-rtmp', n)
      : otherFailoverRow(P, 'nginx-rtmp, edge with 2 `pull` origins', n),
  )
  // node-media-server has no failover at all: not applicable rather than skipped
  rows.push(
    'skipped' in s
      ? ['failover, node-media-server', s.skipped, '', 'n/a']
      : otherFailoverRow(P, 'node-media-server', s),
  )
  return rows
}

/** meshcast's resume (and its eager variant), judged against the goals. */
function meshcastResumeRows(P: Params, m: ResumeSummary, e: ResumeSummary | Skipped): Row[] {
  const rows: Row[] = [
    [
      `resume, meshcast: republish → first frame at the kept edge player (ms, median / max of ${m.runs.length})`,
      `${fmt(m.edgeMedianMs)} / ${fmt(m.edgeMaxMs)}`,
      `≤ ${fmt(P.goals.resumeMs)}`,
      join2(
        goalVerdict(m.resumed === m.runs.length && m.edgeMaxMs !== null && m.edgeMaxMs <= P.goals.resumeMs),
        m.resumed < m.runs.length ? `FAIL: ${m.runs.length - m.resumed} never resumed` : '',
      ),
    ],
    [
      '  republish → first keyframe at a player on the origin; edge delay beyond it (ms, median)',
      `${fmt(m.originMedianMs)}; ${fmt(m.edgeDelayMedianMs)}`,
      '',
      '',
    ],
  ]
  if ('skipped' in e)
    rows.push(skippedRow('  same, republished as soon as the restarted origin accepts RTMP', e))
  else
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
  return rows
}

function resumeRows(P: Params, r: ResumePhase): Row[] {
  const rows: Row[] = []
  const m = r.meshcast
  rows.push(
    ...('skipped' in m ? [skippedRow('resume, meshcast', m)] : meshcastResumeRows(P, m, r.meshcastEager)),
  )
  for (const [name, s] of [
    ['nginx-rtmp (static pull)', r.nginx],
    ['node-media-server (relay task)', r.nodeMediaServer],
  ] as const) {
    if ('skipped' in s) {
      rows.push(skippedRow(`resume, ${name}`, s))
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
  return rows
}

function loadRows(P: Params, load: LoadPhase): Row[] {
  const rows: Row[] = []
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
  rows.push(...unrunRows('load', load))
  return rows
}

/** A phase's systems that failed or were skipped, a row each. */
function unrunRows(
  phase: string,
  p: { errors: Record<string, string>; skipped: Record<string, string> },
): Row[] {
  return [
    ...Object.entries(p.errors).map(
      ([system, err]): Row => [`${phase} ${system}`, err.split('\n')[0] ?? '', '', 'FAIL'],
    ),
    ...Object.entries(p.skipped).map(
      ([system, why]): Row => [`${phase} ${system}`, `skipped: ${why}`, '', ''],
    ),
  ]
}

function relayRows(P: Params, relay: RelayPhase): Row[] {
  const rows: Row[] = []
  const nginx = relay.results.find((r) => r.system === 'nginx-rtmp')
  for (const r of relay.results) {
    rows.push([
      `${r.system} edge relaying ${relay.streams} streams of ${relay.clipKbps} kbit/s, no player: CPU % of a core (idle / relaying) / RSS MiB (same)`,
      `${fmt(r.idle.cpuPct.edge, 1)} / ${fmt(r.relaying.cpuPct.edge, 1)}; ${fmt(r.idle.rssMiB.edge, 1)} / ${fmt(r.relaying.rssMiB.edge, 1)}`,
      r.system === 'meshcast' && relay.streams === 50 ? `relaying < ${P.goals.relay50Pct} %` : '',
      r.system === 'meshcast' && relay.streams === 50
        ? goalVerdict((r.relaying.cpuPct.edge ?? Number.POSITIVE_INFINITY) < P.goals.relay50Pct)
        : othersNote([r.idle.cpu, r.relaying.cpu]),
    ])
    const limit =
      r.system === 'meshcast' && nginx?.perStream.cpuPct != null
        ? P.goals.relayVsNginx * Math.max(nginx.perStream.cpuPct, 0)
        : null
    rows.push([
      '  per relayed stream: CPU % / RSS MiB',
      `${fmt(r.perStream.cpuPct, 3)} / ${fmt(r.perStream.rssMiB, 2)}`,
      limit === null ? '' : `≤ ${P.goals.relayVsNginx} × nginx-rtmp = ${fmt(limit, 3)}`,
      limit === null ? '' : goalVerdict(r.perStream.cpuPct !== null && r.perStream.cpuPct <= limit),
    ])
  }
  rows.push(...unrunRows('relay', relay))
  return rows
}

function playersRows(P: Params, players: PlayersPhase): Row[] {
  const rows: Row[] = []
  const nginx = players.results.find((r) => r.system === 'nginx-rtmp')
  for (const r of players.results) {
    rows.push([
      `${r.system} edge, ${['0'].concat(r.steps.map((s) => String(s.players))).join(' / ')} players: CPU % of a core / RSS MiB`,
      [r.relaying, ...r.steps.map((s) => s.window)]
        .map((w) => `${fmt(w.cpuPct.edge, 1)} / ${fmt(w.rssMiB.edge, 0)}`)
        .join('; '),
      '',
      othersNote([r.relaying.cpu, ...r.steps.map((s) => s.window.cpu)]),
    ])
    rows.push([
      '  on time (latest frame ms behind the stream; sink / probe KiB/s)',
      r.steps
        .map(
          (s) =>
            `${s.players}: ${s.onTime ? 'yes' : 'NO'} (${fmt(s.lateMs)} ms; ${fmt(s.sinkMinKBps)} / ${fmt(s.probeKBps)}${s.cut > 0 ? `; ${s.cut} not playing` : ''})`,
        )
        .join('; '),
      `no frame > ${P.goals.lateBoundMs} ms late`,
      `most on time: ${fmt(r.mostOnTime)}`,
    ])
    for (const pp of r.perPlayer) {
      const theirs = nginx?.perPlayer.find((x) => x.players === pp.players)?.cpuPct ?? null
      const judged = r.system === 'meshcast' && theirs !== null && (pp.players === 50 || pp.players === 500)
      const rssJudged = r.system === 'meshcast' && pp.rssKiB !== null
      rows.push([
        `  per player at ${pp.players}: CPU % / RSS KiB (over no player; over the step before)`,
        `${fmt(pp.cpuPct, 4)} / ${fmt(pp.rssKiB, 1)}; ${fmt(pp.marginalCpuPct, 4)} / ${fmt(pp.marginalRssKiB, 1)}`,
        join2(
          judged
            ? `CPU ≤ ${P.goals.playerVsNginx} × nginx-rtmp = ${fmt((theirs ?? 0) * P.goals.playerVsNginx, 4)}`
            : '',
          rssJudged ? `RSS ≤ ${P.goals.rssPerPlayerKiB} KiB` : '',
        ),
        join2(
          judged
            ? `CPU ${goalVerdict(pp.cpuPct !== null && pp.cpuPct <= (theirs ?? 0) * P.goals.playerVsNginx)}`
            : '',
          rssJudged ? `RSS ${goalVerdict((pp.rssKiB ?? 0) <= P.goals.rssPerPlayerKiB)}` : '',
        ),
      ])
    }
  }
  rows.push(...unrunRows('players', players))
  return rows
}

/** The table's rows, phase by phase, then the phases that failed as a whole. */
export function tableRows(P: Params, results: Results, phaseErrors: Partial<Record<Phase, string>>): Row[] {
  return [
    ...(results.ttff === undefined ? [] : ttffRows(P, results.ttff)),
    ...(results.failover === undefined ? [] : failoverRows(P, results.failover)),
    ...(results.resume === undefined ? [] : resumeRows(P, results.resume)),
    ...(results.load === undefined ? [] : loadRows(P, results.load)),
    ...(results.relay === undefined ? [] : relayRows(P, results.relay)),
    ...(results.players === undefined ? [] : playersRows(P, results.players)),
    ...Object.entries(phaseErrors).map(([phase, err]): Row => [`${phase}: phase failed`, err, '', 'FAIL']),
  ]
}

/** Prints the table and how it was measured, on stdout. */
export function printReport(
  rows: readonly Row[],
  run: {
    cpuDuring: Partial<Record<Phase, CpuShares>>
    quick: boolean
    durationS: number | null
    cpus: number
  },
): void {
  printTable(rows)
  console.log(
    `method: players are ${METHOD.players}; TTFF ${METHOD.ttff}; publisher: ${METHOD.publisher}; nginx: ${METHOD.nginx}`,
  )
  console.log(
    `machine CPU per phase (% busy / % used by processes outside this benchmark / % stolen): ${Object.entries(
      run.cpuDuring,
    )
      .map(([phase, c]) => `${phase} ${fmt(c.busyPct)} / ${fmt(c.foreignPct, 1)} / ${fmt(c.stealPct, 1)}`)
      .join(', ')}`,
  )
  console.log(
    `${run.quick ? 'quick run' : 'run'} took ${fmt(run.durationS)} s on ${run.cpus} CPUs, Node ${process.version}`,
  )
}
