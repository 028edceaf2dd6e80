/**
 * A bare mesh member in its own process, driven over IPC by `MeshPeer`:
 * sends, counts what it receives, answers invocations, takes part in
 * state transfer. Lets tests drive the bus with real processes and sockets.
 */
import { type BusTarget, type Logger, silentLogger } from '@meshcast/interface'
import { Mesh, type MeshInit } from '@meshcast/mesh'
import type { PeerCommand, PeerReport, PeerSetup } from './protocol.ts'

const setup = JSON.parse(process.argv[2] as string) as PeerSetup
const lines: string[] = []
function logAt(level: string, bindings: Record<string, unknown>) {
  return (message: string, fields?: Record<string, unknown>) => {
    if (level === 'debug') return
    lines.push(JSON.stringify({ level, message, ...bindings, ...fields, t: Date.now() }))
    if (lines.length > 2000) lines.shift()
  }
}
function makeLogger(bindings: Record<string, unknown>): Logger {
  return {
    error: logAt('error', bindings),
    warn: logAt('warn', bindings),
    info: logAt('info', bindings),
    debug: logAt('debug', bindings),
    child: (f) => makeLogger({ ...bindings, ...f }),
  }
}
const logger = setup.quiet ? silentLogger : makeLogger({})

const init = setup.mesh as unknown as MeshInit
const mesh = new Mesh(init, { logger })

/** per sender: messages received, the last index, order violations, duplicates */
const received = new Map<
  string,
  { first: number; count: number; last: number; outOfOrder: number; duplicates: number }
>()
const gaps: { from: string; lost: number }[] = []
const views: string[] = []
let stateReceived: unknown = null
let latencies: number[] = []

mesh.onMessage('probe', (m) => {
  const data = m.data as { i: number; t?: number }
  let r = received.get(m.from)
  if (r === undefined) {
    // a peer that joined late starts wherever the sender was
    r = { first: data.i, count: 0, last: data.i - 1, outOfOrder: 0, duplicates: 0 }
    received.set(m.from, r)
  }
  r.count++
  if (data.i <= r.last) r.duplicates++
  else if (data.i !== r.last + 1) r.outOfOrder++
  r.last = Math.max(r.last, data.i)
  if (data.t !== undefined) latencies.push(performance.timeOrigin + performance.now() - data.t)
})
mesh.register('probe', {
  echo: (args, from) => ({ id: mesh.id, role: init.self.role, args, from }),
  fail: () => {
    throw new RangeError('probe.fail always fails')
  },
  never: () => new Promise(() => {}),
})
mesh.registerState('probe', {
  provide: () => ({
    from: mesh.id,
    received: [...received.values()].reduce((a, r) => a + r.count, 0),
    note: setup.note ?? null,
  }),
  receive: (state) => {
    stateReceived = state
  },
})
mesh.events.on('gap', (g) => gaps.push({ from: g.from, lost: g.lost.to - g.lost.from + 1 }))
mesh.events.on('view', (c) => views.push(c.view.id))

function report(): PeerReport {
  return {
    id: mesh.id,
    state: mesh.state,
    view: {
      id: mesh.view.id,
      coordinator: mesh.view.coordinator,
      members: mesh.view.members.map((m) => m.id),
    },
    received: Object.fromEntries(received),
    gaps,
    views,
    stateReceived,
    counters: mesh.counters(),
    rss: process.memoryUsage().rss,
    log: lines.slice(-300),
  }
}

/**
 * Sends not yet on the wire beyond which the sender waits, as an
 * application that paces itself (well inside the mesh's 16 MiB queue).
 */
const outstandingLimit = (size: number) => Math.min(16_384, Math.floor((8 * 2 ** 20) / Math.max(size, 1)))

async function send(to: BusTarget, count: number, size: number, rate: number, stamp: boolean): Promise<void> {
  const pad = 'x'.repeat(Math.max(0, size - 40))
  const MAX_OUTSTANDING = outstandingLimit(size)
  let next = sentSoFar + 1
  const end = sentSoFar + count
  sentSoFar = end
  const started = performance.now()
  const pending: Promise<void>[] = []
  let onWire = 0
  const one = (i: number) => {
    const sent = mesh.send(
      to,
      'probe',
      stamp ? { i, t: performance.timeOrigin + performance.now(), pad } : { i, pad },
    )
    pending.push(sent)
    void sent.then(() => onWire++)
  }
  while (next <= end) {
    // behind: wait for the oldest sends, so the offered rate falls to what the bus takes
    while (pending.length - onWire >= MAX_OUTSTANDING) await pending[onWire]
    if (rate > 0) {
      // paced: as many as are due by now
      const due = Math.min(
        end,
        sentSoFar - count + Math.floor(((performance.now() - started) / 1000) * rate) + 1,
        next + MAX_OUTSTANDING - (pending.length - onWire) - 1,
      )
      for (; next <= due; next++) one(next)
      await new Promise((r) => setTimeout(r, 1))
    } else {
      one(next++)
      if (next % 1000 === 0) await new Promise((r) => setImmediate(r))
    }
  }
  await Promise.all(pending)
}
let sentSoFar = 0

async function handle(cmd: PeerCommand): Promise<unknown> {
  switch (cmd.op) {
    case 'report':
      return report()
    case 'send':
      await send(cmd.to, cmd.count, cmd.size ?? 40, cmd.rate ?? 0, cmd.stamp ?? false)
      return { sent: sentSoFar }
    case 'invoke':
      return await mesh.invoke(
        cmd.to,
        cmd.method,
        cmd.args,
        cmd.timeout === undefined ? {} : { timeout: cmd.timeout },
      )
    case 'latencies': {
      const out = latencies
      latencies = []
      return out
    }
    case 'tryLarge':
      try {
        await mesh.send({ to: 'all' }, 'probe', { i: 0, pad: 'y'.repeat(cmd.bytes) })
        return { thrown: null }
      } catch (err) {
        return { thrown: (err as Error).name, message: (err as Error).message }
      }
    case 'stop':
      await mesh.stop()
      return { stopped: true }
  }
}

process.on('message', (msg: { id: number; cmd: PeerCommand }) => {
  handle(msg.cmd).then(
    (value) => process.send?.({ id: msg.id, ok: true, value }),
    (err: Error) => process.send?.({ id: msg.id, ok: false, error: `${err.name}: ${err.message}` }),
  )
})
process.on('disconnect', () => process.exit(0))

mesh.start().then(
  () => process.send?.({ id: 0, ok: true, value: report() }),
  (err: Error) => {
    process.send?.({ id: 0, ok: false, error: `${err.name}: ${err.message}` })
    process.exit(1)
  },
)
