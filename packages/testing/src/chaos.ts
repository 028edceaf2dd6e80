import { TAG_VIDEO } from '@meshcast/interface'
import { DEFAULT_TEST_FPS } from '@meshcast/node/ffmpeg'
import { TestCluster } from './cluster.ts'
import { type Publisher, publish } from './ffmpeg-clients.ts'
import { playWsFlv, type WsFlvPlayer } from './flv-tags.ts'
import type { NetnsLan } from './netns.ts'
import type { NodeProcess } from './node-process.ts'
import { rssMiB } from './soak.ts'
import { waitFor } from './wait-for.ts'

export interface ChaosOptions {
  /** how long faults go on, ms */
  durationMs: number
  /** seeds the choice of victims, faults and pauses; printed, so a run can be repeated */
  seed: number
  /** the pause between one fault's recovery and the next fault, ms: [least, most] */
  gapMs?: [number, number]
  /** how long a fault lasts before the node is restarted or continued, ms: [least, most] */
  downMs?: [number, number]
  /** told each fault and recovery as it is done (a progress line) */
  onEvent?: (event: ChaosEvent) => void
  /** run node i on host i of this LAN (network namespaces, mDNS on) instead of loopback: `link down` needs it */
  lan?: NetnsLan
  /** the faults drawn from, each as likely (default SIGKILL and SIGSTOP) */
  faults?: readonly ChaosFault[]
}

/** SIGKILL (then a restart), SIGSTOP (then SIGCONT), or the host's link down (then up: LAN only). */
export type ChaosFault = 'SIGKILL' | 'SIGSTOP' | 'link down'

/** One fault or recovery, and how long until every running node agreed on a view that says so. */
export interface ChaosEvent {
  /** ms since the faults began */
  at: number
  node: string
  what: ChaosFault | 'restart' | 'SIGCONT' | 'link up'
  /** ms until every node that runs showed one view of the nodes that run; null: not within the bound */
  agreedMs: number | null
}

export interface ChaosPlayer {
  edge: string
  /** video tags received in all */
  frames: number
  /** what the publisher's frame rate gives over the time watched, its own edge's faults not counted */
  expectedFrames: number
  /** the longest wait between video tags, not counting its own edge's faults (down, frozen, then until it plays again), ms */
  longestGapMs: number
  /** times it was reopened after its own edge's fault */
  reopened: number
  /** times its edge closed it outside its own faults (it was reopened then too) */
  cut: number
}

export interface ChaosResult {
  seed: number
  durationMs: number
  events: ChaosEvent[]
  /** the slowest agreement after an event, ms (null when one never agreed within the bound) */
  worstAgreedMs: number | null
  players: ChaosPlayer[]
  /** nodes that exited on their own (not by a SIGKILL of the run): must be none */
  crashed: string[]
  /** RSS of every node at the end, MiB */
  rssMiB: Record<string, number>
  /** RSS of every node once the players played, MiB: a node never restarted drifts by the difference */
  rssStartMiB: Record<string, number>
}

/** How long a view may take to agree after an event before the event counts as not agreed. */
const AGREE_BOUND_MS = 30_000
const POLL_MS = 100
const PATH = '/live/chaos'

/** mulberry32: small, seeded, good enough to pick victims. */
function random(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const between = (r: () => number, [lo, hi]: [number, number]) => lo + Math.floor(r() * (hi - lo + 1))
const wsFlv = (node: NodeProcess) => `${node.httpUrl.replace(/^http/, 'ws')}${PATH}.flv`

/** The view a node shows, or null when it does not answer within a second (frozen, or down). */
async function viewOf(node: NodeProcess): Promise<{ id: string; members: string[] } | null> {
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    const res = await Promise.race([
      node.httpGet('/api/view'),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('no answer')), 1000)
      }),
    ])
    return (await res.json()) as { id: string; members: string[] }
  } catch {
    return null
  } finally {
    // polled ten times a second: a timer left per poll would pile up for the whole run
    clearTimeout(timer)
  }
}

/**
 * The chaos run: 2 origins publishing the same stream, 3 edges
 * listing both with a WS-FLV player each, and a random node SIGKILLed
 * (then restarted), SIGSTOPped (then continued) or, on a LAN, cut off
 * (its link down, then up) again and again. After
 * every fault and every recovery it measures how long until every running
 * node shows one view of exactly the running nodes; it also reports each
 * player's longest gap not counting its own edge's faults, nodes that exited
 * on their own, and every node's RSS at the end.
 */
export async function runChaos(opts: ChaosOptions): Promise<ChaosResult> {
  const rand = random(opts.seed)
  const gapMs = opts.gapMs ?? [20_000, 40_000]
  const downMs = opts.downMs ?? [3_000, 8_000]
  const lan = opts.lan
  const faults = opts.faults ?? (['SIGKILL', 'SIGSTOP'] as const)
  if (faults.includes('link down') && lan === undefined) throw new Error('link-down faults need a LAN')
  const cluster = new TestCluster(lan === undefined ? {} : { lan })
  const publishers: (Publisher | null)[] = []
  const players: {
    edge: number
    player: WsFlvPlayer | null
    frames: number
    gap: number
    reopened: number
    cut: number
    opening: boolean
    /** tags of the current player counted so far */
    seen: number
    /** when the last video tag came (or the last moment its gap was excused) */
    lastAt: number
    /** its edge is down or frozen, or back but not yet playing again: its gap is not counted */
    excused: boolean
    /** when its edge came back (0 while down) */
    backAt: number
    /** ms its gap was excused, and the last poll */
    excusedMs: number
    polledAt: number
  }[] = []
  const events: ChaosEvent[] = []
  const crashed: string[] = []
  /** nodes the run has put down or frozen now, by index */
  const down = new Set<number>()
  /** nodes the run killed itself: their exit is no crash */
  const killedByUs = new Set<NodeProcess>()
  let stopping = false
  try {
    const o1 = await cluster.start({ name: 'origin-1' })
    const o2 = await cluster.start({ name: 'origin-2' })
    const origins = [`${o1.host}:${o1.rtmpPort}`, `${o2.host}:${o2.rtmpPort}`]
    for (let i = 1; i <= 3; i++)
      await cluster.start({ name: `edge-${i}`, cluster: { nodeType: 'edge', origins } })
    const seconds = Math.ceil(opts.durationMs / 1000) + 300
    // on a LAN an origin's publisher runs on its host: a cut link cuts the edges off, not the publisher
    const startPublisher = async (i: number) => {
      publishers[i] = await publish(`${(cluster.nodes[i] as NodeProcess).rtmpUrl}${PATH}`, {
        seconds,
        ...(lan === undefined ? {} : { wrap: (argv: string[]) => lan.wrap(i, argv) }),
      })
    }
    await startPublisher(0)
    await startPublisher(1)
    const watch = (node: NodeProcess) =>
      void node.exited.then((exit) => {
        if (!stopping && !killedByUs.has(node)) crashed.push(`${node.name} (${JSON.stringify(exit)})`)
      })
    for (const n of cluster.nodes) watch(n)
    // on a LAN a player reaches its edge through a port forwarded into the edge's host (it stays across restarts)
    const forwarded = new Map<number, string>()
    if (lan !== undefined)
      for (const edge of [2, 3, 4])
        forwarded.set(edge, (await lan.forward(edge, (cluster.nodes[edge] as NodeProcess).httpPort)).url)
    const urlOf = (edge: number) => {
      const base = forwarded.get(edge)
      return base === undefined
        ? wsFlv(cluster.nodes[edge] as NodeProcess)
        : `${base.replace(/^http/, 'ws')}${PATH}.flv`
    }
    const openPlayer = async (slot: (typeof players)[number]) => {
      slot.player = await playWsFlv(urlOf(slot.edge))
    }
    for (const edge of [2, 3, 4]) {
      const slot = {
        edge,
        player: null,
        frames: 0,
        gap: 0,
        reopened: 0,
        cut: 0,
        opening: false,
        seen: 0,
        lastAt: Date.now(),
        excused: false,
        backAt: 0,
        excusedMs: 0,
        polledAt: Date.now(),
      }
      players.push(slot)
      await openPlayer(slot)
    }
    await waitFor(() => players.every((p) => p.player?.tags.some((t) => t.type === TAG_VIDEO) === true), {
      timeout: 30_000,
      what: 'video at every chaos player',
    })
    // gaps: between video tags, not counted from its edge's fault until it plays again
    const reopen = (slot: (typeof players)[number]) => {
      slot.opening = true
      slot.player?.close()
      slot.seen = 0
      void openPlayer(slot)
        .catch(() => undefined)
        .finally(() => {
          slot.opening = false
        })
    }
    const gapTimer = setInterval(() => {
      const now = Date.now()
      for (const slot of players) {
        const tags = slot.player?.tags ?? []
        for (const tag of tags.slice(slot.seen)) {
          if (tag.type !== TAG_VIDEO) continue
          slot.frames++
          slot.lastAt = tag.at
          if (slot.excused && slot.backAt > 0 && tag.at > slot.backAt) slot.excused = false
        }
        slot.seen = tags.length
        if (slot.excused) slot.excusedMs += now - slot.polledAt
        slot.polledAt = now
        if (slot.excused) slot.lastAt = now
        else slot.gap = Math.max(slot.gap, now - slot.lastAt)
        // a viewer whose edge closed it comes back, as a player would; the gap runs on
        if (slot.player?.closed != null && !slot.opening && !down.has(slot.edge)) {
          if (slot.excused) slot.reopened++
          else slot.cut++
          reopen(slot)
        }
      }
    }, POLL_MS)

    const ids = new WeakMap<NodeProcess, string>()
    const idOf = async (n: NodeProcess): Promise<string | undefined> => {
      const known = ids.get(n)
      if (known !== undefined) return known
      const id = (await n.status().catch(() => null))?.id
      if (id !== undefined) ids.set(n, id)
      return id
    }
    /** Polls until every running node shows the same view of exactly the running nodes. */
    const agreement = async (): Promise<number | null> => {
      const from = Date.now()
      while (Date.now() - from < AGREE_BOUND_MS) {
        const running = cluster.nodes.filter((_, i) => !down.has(i))
        const ids = await Promise.all(running.map(idOf))
        const views = await Promise.all(running.map(viewOf))
        const agreed =
          views.every((v) => v !== null && v.id === views[0]?.id) &&
          views[0]?.members.length === running.length &&
          ids.every((id) => id !== undefined && views[0]?.members.includes(id))
        if (agreed) return Date.now() - from
        await new Promise((r) => setTimeout(r, POLL_MS))
      }
      return null
    }
    const record = async (at: number, node: NodeProcess, what: ChaosEvent['what']) => {
      const event = { at, node: node.name, what, agreedMs: await agreement() }
      events.push(event)
      opts.onEvent?.(event)
    }

    const rssStartMiB = Object.fromEntries(cluster.nodes.map((n) => [n.name, Math.round(rssMiB(n))]))
    const watchedFrom = Date.now()
    const began = Date.now()
    while (Date.now() - began < opts.durationMs) {
      await new Promise((r) => setTimeout(r, between(rand, gapMs)))
      const index = Math.floor(rand() * cluster.nodes.length)
      const fault = faults[Math.floor(rand() * faults.length)] as ChaosFault
      const victim = cluster.nodes[index] as NodeProcess
      down.add(index)
      for (const slot of players.filter((p) => p.edge === index)) {
        slot.excused = true
        slot.backAt = 0
      }
      if (fault === 'SIGKILL') killedByUs.add(victim)
      if (fault === 'link down') await lan?.linkDown(index)
      else victim.kill(fault)
      await record(Date.now() - began, victim, fault)
      await new Promise((r) => setTimeout(r, between(rand, downMs)))
      let back = victim
      if (fault === 'SIGKILL') {
        back = await cluster.restart(index)
        watch(back)
      } else if (fault === 'link down') await lan?.linkUp(index)
      else victim.kill('SIGCONT')
      down.delete(index)
      for (const slot of players.filter((p) => p.edge === index)) slot.backAt = Date.now()
      await record(
        Date.now() - began,
        back,
        fault === 'SIGKILL' ? 'restart' : fault === 'link down' ? 'link up' : 'SIGCONT',
      )
      // an origin's publisher went with it: publish again (an edge's player is reopened by the gap timer)
      if (index < 2 && fault === 'SIGKILL') {
        await publishers[index]?.stop()
        await startPublisher(index)
      }
    }
    clearInterval(gapTimer)
    const watchedMs = Date.now() - watchedFrom
    const agreed = events.map((e) => e.agreedMs)
    return {
      seed: opts.seed,
      durationMs: Date.now() - began,
      events,
      worstAgreedMs: agreed.includes(null) ? null : Math.max(0, ...(agreed as number[])),
      players: players.map((p) => ({
        edge: (cluster.nodes[p.edge] as NodeProcess).name,
        frames: p.frames,
        expectedFrames: Math.round((DEFAULT_TEST_FPS * (watchedMs - p.excusedMs)) / 1000),
        longestGapMs: p.gap,
        reopened: p.reopened,
        cut: p.cut,
      })),
      crashed,
      rssMiB: Object.fromEntries(cluster.nodes.map((n) => [n.name, Math.round(rssMiB(n))])),
      rssStartMiB,
    }
  } finally {
    stopping = true
    for (const p of players) p.player?.close()
    await Promise.all(publishers.map((p) => p?.stop()))
    await cluster.stopAll()
  }
}
