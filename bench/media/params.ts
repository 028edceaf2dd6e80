// What the media benchmark runs: its phases, run counts, windows, and the
// goals the table judges against (a --quick run is a smoke test: fewer runs,
// shorter windows, fewer players).
export const PHASES = ['ttff', 'failover', 'resume', 'load', 'relay', 'players'] as const
export type Phase = (typeof PHASES)[number]

export const LOG_ARGS = ['--log-level', 'info']
export const STREAM_APP = 'live'

export function params(quick: boolean) {
  return {
    /** measured probes per target (after one warm-up probe that is not counted) */
    ttffRuns: quick ? 3 : 12,
    /** a random pause of 0..gopMs before each probe samples the phase of the 1 s GOP */
    gopMs: 1000,
    ttffTimeoutMs: 8000,
    /** edge.linger of the on-demand (cold) meshcast edge, seconds */
    coldLingerS: 1,
    failoverRuns: quick ? 2 : 5,
    /** nginx-rtmp's failover is only there for comparison: fewer runs */
    nginxFailoverRuns: quick ? 1 : 3,
    /** the kept player plays this long before the kill */
    steadyMs: 4000,
    /** …and is watched this long after it */
    watchMs: 10_000,
    resumeRuns: quick ? 1 : 3,
    /** the origin stays down this long before it is restarted */
    downMs: 2000,
    /** how long the kept player may wait for a frame after the republish */
    resumeWatchMs: 20_000,
    loadPlayers: quick ? [1, 5] : [1, 10, 50],
    /** CPU is measured over this window once every player plays */
    loadWindowS: quick ? 5 : 20,
    idleWindowS: quick ? 3 : 10,
    /** streams the edge relays with no player, each a replay of one clip */
    relayStreams: quick ? 10 : 50,
    relayBitrate: '2000k',
    relayClipS: 10,
    relayWindowS: quick ? 5 : 20,
    /** players at each step (sinks and 4 timing probes); the ladder stops at the first step not served on time */
    playersLadder: quick ? [50, 200] : [50, 500, 1000],
    playersWindowS: quick ? 5 : 15,
    /** let processes warm up (JIT, GC) before a window or an RSS reading */
    warmupMs: 3000,
    goals: {
      warmEdgeVsOrigin: 1.2,
      coldEdgeMedianMs: 150,
      failoverGapMs: 1000,
      resumeMs: 1000,
      cpuPerSubscriberVsNginx: 1.5,
      /** CPU per relayed stream (edge, no player) against nginx-rtmp's */
      relayVsNginx: 2,
      /** an edge relaying 50 streams of 2 Mbit/s: % of a core */
      relay50Pct: 50,
      /** CPU per player at 50 and 500 players against nginx-rtmp's */
      playerVsNginx: 1,
      /** a frame later than this behind the stream's clock is not on time */
      lateBoundMs: 200,
      /** edge RSS per player */
      rssPerPlayerKiB: 50,
      /** 120 MB */
      idleRssMiB: 120e6 / 2 ** 20,
    },
  }
}
export type Params = ReturnType<typeof params>

/** How each figure is taken, for the table's footer and the results file. */
export const METHOD = {
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
  relay:
    'an origin and an edge; the edge idle, then relaying N replays of one clip (the test pattern with noise at a constant 2 Mbit/s video + AAC 64 kbit/s, encoded once, published by one `ffmpeg -re -stream_loop -1 -c copy` each) with no player; per relayed stream = (relaying - idle) / N, the edge process; meshcast: the edge repeats every stream (streamOnDemand false); nginx-rtmp: a static pull per stream',
  ladder:
    "an origin and an edge relaying the test pattern; at each step N players on the edge: N - 4 sinks (worker processes of NMS RtmpClients that, once playing, only count and acknowledge bytes, 250 a process, each process from its own loopback address) and 4 probes timing every video frame; late = a frame's (arrival - dts) above the probe's earliest such offset; on time = every player playing, no probe frame late by more than 200 ms, every sink taking at least 90 % of what the probes take; per player = (edge CPU or RSS at N - relaying with no player) / N",
  nginx:
    'master_process off (one process: the one measured), worker_connections 8192, Debian libnginx-mod-rtmp defaults otherwise',
}
