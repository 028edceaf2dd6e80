import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { TAG_VIDEO } from '@meshcast/interface'
import { TestCluster } from './cluster.ts'
import { type Publisher, publish } from './ffmpeg-clients.ts'
import { playWsFlv, type WsFlvPlayer } from './flv-tags.ts'
import type { NodeProcess } from './node-process.ts'
import { streamsOf } from './stream-checks.ts'
import { waitFor } from './wait-for.ts'

/** The chat example, run by every soak node. */
const CHAT = join(import.meta.dirname, '..', '..', '..', 'examples', 'chat')

export interface SoakOptions {
  /** how long the load runs, ms */
  durationMs: number
  /** the first part of the run that only warms up (caches, pools, the history filling), ms */
  warmupMs: number
  /** ms between samples */
  sampleMs?: number
  /** told every sample (a progress line) */
  onSample?: (elapsedMs: number, rssMiB: readonly number[]) => void
}

/** What one node's resident memory did during a soak. */
export interface SoakNodeResult {
  name: string
  /** median RSS of the samples just after the warm-up, MiB */
  startMiB: number
  /** median RSS of the last samples, MiB */
  endMiB: number
  maxMiB: number
  /** endMiB / startMiB - 1 */
  drift: number
}

export interface SoakResult {
  durationMs: number
  nodes: SoakNodeResult[]
  /** players started and stopped during the run (each edge's players are replaced in turn) */
  playersCycled: number
  chatSent: number
  /** chat messages that reached every other node's client */
  chatDelivered: number
  /** HTTP requests (/cluster, /api/status) made and answered */
  httpAsked: number
  httpAnswered: number
  /** nodes that exited during the run (must be none) */
  exited: string[]
  /**
   * Edges whose player count (`/api/streams`) at the end differs from the players still
   * connected to them: a session kept after its player left (must be none).
   */
  sessionsLeft: { name: string; counted: number; connected: number }[]
}

/** A chatr page without a browser: it joins and says something every second. */
class ChatClient {
  readonly heard = new Set<string>()
  readonly #ws: WebSocket
  #ref = 0

  constructor(node: NodeProcess, name: string) {
    this.#ws = new WebSocket(`${node.httpUrl.replace(/^http/, 'ws')}/chatr/ws`)
    this.#ws.addEventListener('open', () =>
      this.#ws.send(JSON.stringify({ type: 'join', name, key: `${name}-soak-key-0123456789` })),
    )
    this.#ws.addEventListener('message', (e) => {
      const text = /"text":"(soak [^"]+)"/.exec(String(e.data))?.[1]
      if (text !== undefined) this.heard.add(text)
    })
  }

  say(text: string): boolean {
    if (this.#ws.readyState !== WebSocket.OPEN) return false
    this.#ws.send(JSON.stringify({ type: 'send', text, ref: ++this.#ref }))
    return true
  }

  close(): void {
    this.#ws.close()
  }
}

/** A node's resident memory, MiB (NaN once it has exited). */
export function rssMiB(node: NodeProcess): number {
  try {
    const status = readFileSync(`/proc/${node.child.pid}/status`, 'utf8')
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024
  } catch {
    return Number.NaN
  }
}

function median(values: readonly number[]): number {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN
}

/** Players each edge counts on its streams. */
async function countedPlayers(edge: NodeProcess): Promise<number> {
  const id = (await edge.status()).id
  return (await streamsOf(edge)).streams
    .flatMap((s) => s.carriers.filter((c) => c.node === id))
    .reduce((sum, c) => sum + c.subscribers, 0)
}

/**
 * Edges that count more or fewer players than are connected to them. A closed player is
 * noticed within a moment, so a mismatch that lasts 10 s is a session the edge kept.
 */
async function leftoverSessions(
  edges: readonly NodeProcess[],
  players: readonly { player: WsFlvPlayer; edge: NodeProcess }[],
): Promise<SoakResult['sessionsLeft']> {
  const connected = edges.map((e) => players.filter((p) => p.edge === e && p.player.closed === null).length)
  let counted: number[] = []
  await waitFor(
    async () => {
      counted = await Promise.all(edges.map(countedPlayers))
      return counted.every((c, i) => c === connected[i])
    },
    {
      timeout: 10_000,
      what: 'every edge counting its connected players',
    },
  ).catch(() => undefined)
  return edges
    .map((e, i) => ({ name: e.name, counted: counted[i] as number, connected: connected[i] as number }))
    .filter((e) => e.counted !== e.connected)
}

const wsFlv = (node: NodeProcess, path: string) => `${node.httpUrl.replace(/^http/, 'ws')}${path}.flv`

/**
 * Runs a small cluster under steady load and reports whether its memory
 * stays flat: 2 origins publishing the same stream (and one more each), 2
 * edges pulling them, 2 players per edge replaced one at a time, a chat
 * client per node saying something every second, and `/cluster` and
 * `/api/status` asked every second. Samples every node's RSS; compares the
 * samples right after `warmupMs` with the last ones.
 */
export async function runSoak(opts: SoakOptions): Promise<SoakResult> {
  const sampleMs = opts.sampleMs ?? 5000
  const cluster = new TestCluster()
  const publishers: Publisher[] = []
  const players: WsFlvPlayer[] = []
  const edgeOf = new Map<WsFlvPlayer, NodeProcess>()
  const chats: ChatClient[] = []
  const timers: ReturnType<typeof setInterval>[] = []
  try {
    const chat = { 'app.chatr': CHAT }
    const a = await cluster.start({ name: 'origin-a', properties: chat })
    const b = await cluster.start({ name: 'origin-b', properties: chat })
    const origins = [`${a.host}:${a.rtmpPort}`, `${b.host}:${b.rtmpPort}`]
    const edges = [
      await cluster.start({ name: 'edge-1', cluster: { nodeType: 'edge', origins }, properties: chat }),
      await cluster.start({ name: 'edge-2', cluster: { nodeType: 'edge', origins }, properties: chat }),
    ]
    const nodes = [a, b, ...edges]
    const seconds = Math.ceil(opts.durationMs / 1000) + 120
    for (const [origin, own] of [
      [a, '/live/soak-a'],
      [b, '/live/soak-b'],
    ] as const) {
      publishers.push(await publish(`${origin.rtmpUrl}/live/soak`, { seconds }))
      publishers.push(await publish(`${origin.rtmpUrl}${own}`, { seconds }))
    }
    const paths = ['/live/soak', '/live/soak-a', '/live/soak-b']
    for (const edge of edges)
      for (const path of paths.slice(0, 2)) {
        const p = await playWsFlv(wsFlv(edge, path))
        players.push(p)
        edgeOf.set(p, edge)
      }
    await waitFor(() => players.every((p) => p.tags.some((t) => t.type === TAG_VIDEO)), {
      timeout: 30_000,
      what: 'video at every soak player',
    })
    nodes.forEach((n, i) => {
      chats.push(new ChatClient(n, `soaker${i}`))
    })

    let playersCycled = 0
    let cycle = 0
    const joining = new Set<Promise<unknown>>()
    const samples: { at: number; rss: number[] }[] = []
    let chatSent = 0
    const said: string[] = []
    let httpAsked = 0
    let httpAnswered = 0
    const started = Date.now()
    timers.push(
      setInterval(() => {
        for (const [i, c] of chats.entries()) {
          const text = `soak ${i}-${chatSent}`
          if (c.say(text)) {
            chatSent++
            said.push(text)
          }
        }
        for (const n of nodes)
          for (const path of ['/cluster?stream=live/soak', '/api/status']) {
            httpAsked++
            void n.httpGet(path).then(
              async (r) => {
                await r.arrayBuffer()
                if (r.status < 500) httpAnswered++
              },
              () => undefined,
            )
          }
      }, 1000),
      // one player at a time leaves and a new one comes, on the next stream in turn
      setInterval(() => {
        const index = cycle % players.length
        const edge = edges[index % edges.length] as NodeProcess
        const path = paths[cycle % paths.length] as string
        cycle++
        players[index]?.close()
        const join = playWsFlv(wsFlv(edge, path)).then(
          (p) => {
            players[index] = p
            edgeOf.set(p, edge)
            playersCycled++
          },
          () => undefined,
        )
        joining.add(join)
        void join.finally(() => joining.delete(join))
      }, 10_000),
      setInterval(() => {
        const rss = nodes.map(rssMiB)
        samples.push({ at: Date.now() - started, rss })
        opts.onSample?.(Date.now() - started, rss)
      }, sampleMs),
    )
    await new Promise((resolve) => setTimeout(resolve, opts.durationMs))
    for (const t of timers.splice(0)) clearInterval(t)
    // the last second's requests are still in flight
    await waitFor(() => httpAnswered === httpAsked, { timeout: 5000, what: 'the last HTTP answers' }).catch(
      () => undefined,
    )

    await Promise.all(joining)
    const sessionsLeft = await leftoverSessions(
      edges,
      players.map((player) => ({ player, edge: edgeOf.get(player) as NodeProcess })),
    )

    // the window just after the warm-up, against the last one of the same length
    const window = Math.max(sampleMs * 3, (opts.durationMs - opts.warmupMs) / 5)
    const first = samples.filter((s) => s.at >= opts.warmupMs && s.at < opts.warmupMs + window)
    const last = samples.filter((s) => s.at >= opts.durationMs - window)
    const nodeResults = nodes.map((n, i) => {
      const startMiB = median(first.map((s) => s.rss[i] as number))
      const endMiB = median(last.map((s) => s.rss[i] as number))
      const maxMiB = Math.max(...samples.map((s) => s.rss[i] as number).filter(Number.isFinite))
      return { name: n.name, startMiB, endMiB, maxMiB, drift: endMiB / startMiB - 1 }
    })
    // messages said more than 5 s before the end have had time to reach every other client
    const due = said.slice(0, Math.max(0, said.length - chats.length * 5))
    const chatDelivered = due.filter((text) => {
      const sender = Number(/^soak (\d+)-/.exec(text)?.[1])
      return chats.every((c, i) => i === sender || c.heard.has(text))
    }).length
    return {
      durationMs: opts.durationMs,
      nodes: nodeResults,
      playersCycled,
      chatSent: due.length,
      chatDelivered,
      httpAsked,
      httpAnswered,
      exited: nodes.filter((n) => n.exit !== null).map((n) => n.name),
      sessionsLeft,
    }
  } finally {
    for (const t of timers) clearInterval(t)
    for (const c of chats) c.close()
    for (const p of players) p.close()
    await Promise.all(publishers.map((p) => p.stop()))
    await cluster.stopAll()
  }
}
