import { LAN, type LinkFaults } from './memory-network.ts'
import { Random } from './random.ts'
import { type SimNode, Simulation } from './simulation.ts'

/** What kinds of fault a schedule may hold. */
export type FaultKind = 'kill' | 'restart' | 'leave' | 'join' | 'pause' | 'partition' | 'slow'

export interface ScheduleOptions {
  /** nodes at the start (origins included) */
  nodes?: { min: number; max: number }
  /** virtual ms of faults */
  faultMs?: number
  kinds?: readonly FaultKind[]
  /** virtual ms the live members have, once the faults stop, to agree on one view */
  agreeWithin?: number
}

export const ALL_FAULTS: readonly FaultKind[] = [
  'kill',
  'restart',
  'leave',
  'join',
  'pause',
  'partition',
  'slow',
]
/** Faults after which nothing a member did is on another side: the replicated log must be the same everywhere. */
export const CRASH_FAULTS: readonly FaultKind[] = ['kill', 'restart', 'leave', 'join']

/**
 * The bound the properties hold the members to: once the network allows it
 * (faults stopped, partitions healed, paused nodes resumed), one view within
 * this many ms. The slowest path is a member that was removed on both sides
 * of a healed partition: its lost-member dials back off to HEAL_CAP_MS (5 s,
 * ±20 %), then a join (suspectAfter, viewBundling) and a merge; a paused
 * node's peers may have 15 s of their own timers to catch up on.
 */
export const AGREE_WITHIN_MS = 30_000

export interface ScheduleResult {
  seed: number
  /** property violations, empty when all held */
  failures: string[]
  /** ms from the end of the faults to one view (null: none within the bound) */
  agreedAfter: number | null
  /** whether property 5 (the replicated log) was checked: crash faults only, and no merge happened */
  logChecked: boolean
  /** views among the live members at the end: more than one only for members that never met and cannot find each other */
  endViews: number
  /** what happened, one line an event */
  events: string[]
  nodes: number
  /** messages each live node delivered in the final round, out of the sent ones */
  finalDelivered: number
  finalExpected: number
  /** scheduler tasks run */
  steps: number
  sim: Simulation
}

/**
 * One seeded random schedule: a cluster forms, faults of the given kinds
 * hit it for `faultMs` while every member keeps sending on the bus, then
 * the network is made whole and the properties are checked:
 *   1. within `agreeWithin`, every live member is in a view naming only live members, with one
 *      coordinator, on which its members agree; members that were ever in one view together are in
 *      the same one (Simulation.split; members that never met and cannot find each other may not be);
 *   2. on every member, view counters only go up;
 *   3. on every member, each sender's messages arrive once each and in order;
 *   4. in the stable view at the end, every message sent reaches every member (by the bus, or in
 *      the state a member still joining got);
 *   5. with crash faults only (nothing cut off, nothing paused), every member's
 *      replicated log (bus plus state transfer) holds every message of every live sender;
 *   6. no node logged an error or threw.
 */
export async function runSchedule(seed: number, options: ScheduleOptions = {}): Promise<ScheduleResult> {
  const kinds = options.kinds ?? ALL_FAULTS
  const crashOnly = kinds.every((k) => CRASH_FAULTS.includes(k))
  const faultMs = options.faultMs ?? 20_000
  const agreeWithin = options.agreeWithin ?? AGREE_WITHIN_MS
  const plan = new Random(seed)
  const sim = new Simulation({ seed })
  const events: string[] = []
  const failures: string[] = []
  const say = (what: string) => events.push(`${(sim.now / 1000).toFixed(3)} s: ${what}`)

  // the cluster: one or two origins every edge has as seeds; mDNS on some clusters
  const count = plan.int(options.nodes?.min ?? 3, options.nodes?.max ?? 7)
  const origins = Math.min(count - 1, plan.int(1, 2))
  // With crash faults only, no member may ever be apart from the others (see property 5).
  const mdns = !crashOnly && plan.chance(0.3)
  const originNames = Array.from({ length: origins }, (_, i) => `o${i + 1}`)
  let edges = 0
  const addEdge = () => {
    const name = `e${++edges}`
    sim.add(name, { role: 'edge', seeds: originNames, mdns })
    return name
  }
  for (const name of originNames)
    sim.add(name, { role: 'origin', seeds: originNames.filter((n) => n !== name), mdns })
  say(`${origins} origin(s)${mdns ? ', mDNS on' : ''}`)
  await sim.run(plan.int(0, 1500))
  for (let i = origins; i < count; i++) {
    addEdge()
    if (plan.chance(0.5)) await sim.run(plan.int(0, 800))
  }
  say(`${count} nodes started`)
  const formed = await sim.until(() => sim.disagreement() === null, agreeWithin, 100)
  if (formed === null)
    failures.push(`the first view did not form within ${agreeWithin} ms: ${sim.disagreement()}`)

  // faults, with bus traffic throughout
  const end = sim.now + faultMs
  const paused = new Map<string, number>()
  let partitionEnds: number | null = null
  let slowEnds: number | null = null
  let nextSend = sim.now
  while (sim.now < end) {
    const step = Math.min(plan.int(300, 4000), end - sim.now)
    const stepEnd = sim.now + step
    while (sim.now < stepEnd) {
      const wait = Math.max(1, Math.min(stepEnd, nextSend) - sim.now)
      await sim.run(wait)
      if (sim.now >= nextSend) {
        sim.sendRound()
        nextSend = sim.now + 500
      }
      for (const [name, until] of paused)
        if (sim.now >= until) {
          sim.resume(name)
          paused.delete(name)
          say(`${name} resumed`)
        }
      if (partitionEnds !== null && sim.now >= partitionEnds) {
        sim.heal()
        partitionEnds = null
        say('partition healed')
      }
      if (slowEnds !== null && sim.now >= slowEnds) {
        sim.network.setFaults(LAN)
        sim.network.setBusFrameLoss(0)
        slowEnds = null
        say('links back to LAN')
      }
    }
    if (sim.now >= end) break
    const live = sim.live().filter((n) => !sim.isPaused(n.name))
    const dead = [...new Set(sim.nodes.map((n) => n.name))].filter(
      (name) => !sim.live().some((n) => n.name === name),
    )
    const kind = plan.pick(kinds)
    const victim = live.length > 0 ? plan.pick(live) : null
    // A new edge finds the cluster through an origin (or mDNS): with none there to answer, it is
    // alone by design, not split; such a start is left out.
    // Nor does a node start during a partition (it would be on no side).
    const findable =
      partitionEnds === null &&
      (mdns || live.some((n) => n.spec.role === 'origin' && n.state === 'up' && n.mesh.state === 'joined'))
    switch (kind) {
      case 'kill':
        if (victim === null || live.length <= 2) break
        sim.kill(victim.name)
        say(`${victim.name} killed`)
        break
      case 'leave':
        if (victim === null || live.length <= 2) break
        sim.leave(victim.name)
        say(`${victim.name} leaves`)
        break
      case 'restart': {
        const name = dead.length === 0 ? null : plan.pick(dead)
        if (name === null || (!findable && !name.startsWith('o'))) break
        sim.restart(name)
        say(`${name} restarted`)
        break
      }
      case 'join':
        if (!findable || sim.live().length >= (options.nodes?.max ?? 7) + 2) break
        say(`${addEdge()} started`)
        break
      case 'pause': {
        if (victim === null || live.length <= 2) break
        const ms = plan.chance(0.5) ? plan.int(100, 1500) : plan.int(1500, 12_000)
        sim.pause(victim.name)
        paused.set(victim.name, sim.now + ms)
        say(`${victim.name} paused for ${ms} ms`)
        break
      }
      case 'partition': {
        if (partitionEnds !== null || live.length < 2) break
        const names = [...new Set(sim.live().map((n) => n.name))]
        const side = names.filter(() => plan.chance(0.5))
        if (side.length === 0 || side.length === names.length) break
        const ms = plan.int(500, 15_000)
        sim.partition([side, names.filter((n) => !side.includes(n))])
        partitionEnds = sim.now + ms
        say(`partition ${side.join(',')} | rest for ${ms} ms`)
        break
      }
      case 'slow': {
        const faults: LinkFaults = {
          latency: plan.between(5, 150),
          jitter: plan.between(0, 20),
          loss: plan.chance(0.5) ? plan.between(0, 0.05) : 0,
          rto: 200,
        }
        sim.network.setFaults(faults)
        // and now and then bus links that fail, losing frames the bus must ask for again
        const busLoss = plan.chance(0.5) ? plan.between(0, 0.1) : 0
        sim.network.setBusFrameLoss(busLoss)
        slowEnds = sim.now + plan.int(1000, 15_000)
        say(
          `links ${faults.latency.toFixed(0)} ± ${faults.jitter.toFixed(0)} ms, ${(faults.loss * 100).toFixed(1)} % loss, ${(busLoss * 100).toFixed(1)} % of bus frames lost`,
        )
        break
      }
    }
  }

  // the network made whole
  sim.heal()
  sim.network.setFaults(LAN)
  sim.network.setBusFrameLoss(0)
  for (const name of paused.keys()) sim.resume(name)
  say('faults stop: healed, resumed, LAN links')
  // what a fault set going (a suspicion, a removal) may still end after this: a view must hold from here
  const stoppedAt = sim.scheduler.now
  const agreedAfter = await sim.until(() => sim.split() === null, agreeWithin, 50)
  if (agreedAfter === null)
    failures.push(`still apart ${agreeWithin} ms after the faults stopped: ${sim.split()}`)

  // The final round, in the stable view: one that has held for STABLE_MS (a removal decided
  // while cut off can still be on its way when the views first agree), and holds to the end.
  /** each live member's view once they held, or null until then */
  let stableView: Map<SimNode, string> | null = null
  if (agreedAfter !== null) {
    const quiet = await sim.until(() => held(sim, STABLE_MS, stoppedAt), agreeWithin, 50)
    if (quiet === null)
      failures.push(`the views did not hold for ${STABLE_MS} ms: ${sim.split() ?? 'they kept changing'}`)
    else {
      stableView = new Map(sim.live().map((n) => [n, n.mesh.view.id]))
    }
  }
  const before = new Map(sim.live().map((n) => [n, n.sent]))
  if (stableView !== null) {
    for (let i = 0; i < 3; i++) {
      sim.sendRound()
      await sim.run(200)
    }
    await sim.run(5000)
    const now = sim.live().map((n) => n.mesh.view.id)
    // one view must hold with no fault; several may still merge (members that never met finding each other)
    const views = [...stableView.values()]
    const one = new Set(views).size === 1
    if (sim.split() !== null || (one && now.join() !== views.join()))
      failures.push(
        `the stable views ${views.join(',')} changed with no fault: ${sim.split() ?? now.join(',')}`,
      )
  }
  let finalDelivered = 0
  let finalExpected = 0
  if (stableView !== null && sim.split() === null) {
    for (const receiver of sim.live())
      for (const [sender, sentBefore] of before) {
        // what a sender sends in its view is for that view's members: those it shared all round
        const shared = stableView.get(sender)
        if (sender.state !== 'up' || shared !== stableView.get(receiver)) continue
        if (sender.mesh.view.id !== shared || receiver.mesh.view.id !== shared) continue
        // by the bus, or in the state it (re)joined with: a member still fetching state when the
        // round began has what the coordinator delivered before it answered in that state
        for (let k = sentBefore + 1; k <= sender.sent; k++) {
          finalExpected++
          if (receiver.log.has(`${sender.mesh.id}/${k}`)) finalDelivered++
          else
            failures.push(`${receiver.name} never got ${sender.name}'s message ${k}, sent in the stable view`)
        }
      }
  }

  for (const n of sim.nodes) {
    for (let i = 1; i < n.counters.length; i++)
      if ((n.counters[i] as number) <= (n.counters[i - 1] as number)) {
        failures.push(`${n.name} went from view counter ${n.counters[i - 1]} to ${n.counters[i]}`)
        break
      }
    for (const [sender, numbers] of n.delivered)
      for (let i = 1; i < numbers.length; i++)
        if ((numbers[i] as number) <= (numbers[i - 1] as number)) {
          failures.push(
            `${n.name} delivered ${nameOf(sim, sender)}'s message ${numbers[i]} after ${numbers[i - 1]} (duplicate or out of order)`,
          )
          break
        }
  }

  // Two clusters can form apart even so (an edge that started as the last origin died, before
  // the view held it): their merge is legitimate, and what each did apart stays apart. The log
  // is checked when nothing merged; the tests count how often that was.
  const logChecked = crashOnly && agreedAfter !== null && !sim.nodes.some((n) => n.diverged)
  if (logChecked) {
    const senders = sim.live().filter((s) => s.state === 'up')
    for (const n of sim.live()) {
      for (const s of senders)
        for (let k = 1; k <= s.sent; k++)
          if (!n.log.has(`${s.mesh.id}/${k}`)) {
            failures.push(`${n.name}'s log lacks ${s.name}'s message ${k} (bus and state transfer)`)
            break
          }
    }
  }

  for (const e of sim.errors) failures.push(`error: ${e}`)
  return {
    seed,
    failures,
    agreedAfter,
    logChecked,
    endViews: new Set(sim.live().map((n) => n.mesh.view.id)).size,
    events,
    nodes: sim.nodes.length,
    finalDelivered,
    finalExpected,
    steps: sim.scheduler.steps,
    sim,
  }
}

/** ms the members' one view must hold before the final round: twice a silent member's suspicion and removal. */
const STABLE_MS = 5000

/** Whether every live member has been in the view its members agree on for `ms`, and `ms` have passed since `from`. */
function held(sim: Simulation, ms: number, from: number): boolean {
  if (sim.split() !== null) return false
  const now = sim.scheduler.now
  return now - from >= ms && sim.live().every((n) => n.viewSince !== null && now - n.viewSince >= ms)
}

function nameOf(sim: Simulation, id: string): string {
  return sim.nodes.find((n: SimNode) => n.mesh.id === id)?.name ?? id
}

/** A failed schedule, as a report a developer can act on: the seed to replay, what broke, what happened, and the log's end. */
export function explain(result: ScheduleResult, logLines = 120): string {
  return [
    `seed ${result.seed} failed (replay: SIM_SEED=${result.seed}):`,
    ...result.failures.slice(0, 12).map((f) => `  - ${f}`),
    'schedule:',
    ...result.events.map((e) => `  ${e}`),
    'members now:',
    result.sim.describe(),
    'last log lines:',
    result.sim.report(logLines),
  ].join('\n')
}
