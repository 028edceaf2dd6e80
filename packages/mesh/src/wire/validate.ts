import { type Member, parseMethodName, type Role } from '@meshcast/interface'
import { arr, bool, FrameError, id, int, isObj, name, num, type Obj, obj, seqMap, str } from './checks.ts'
import {
  type BusEnvelope,
  type BusFrame,
  type DirectFrame,
  type HeartbeatFrame,
  type TopicFrame,
  WIRE_VERSION,
  type WireTarget,
  type WireView,
} from './frames.ts'

/** Upper bounds that keep one frame from costing a node much. */
export const MAX_MEMBERS = 1024
export const MAX_BATCH = 10_000
export const MAX_NAK_RANGES = 256
/** A view id is `<6 characters>:<counter>`; this leaves room. */
export const MAX_VIEW_ID = 64
export const MAX_STATE_NAMES = 64

const ROLES: readonly Role[] = ['origin', 'edge', 'relay', 'standalone']

function target(v: unknown, field: string): WireTarget {
  const a = arr(v, field, 2)
  switch (a[0]) {
    case 'all':
    case 'origins':
    case 'edges':
      if (a.length !== 1) break
      return [a[0]]
    case 'node':
      if (a.length !== 2) break
      return ['node', id(a[1], `${field}[1]`)]
    case 'allBut':
      if (a.length !== 2) break
      return ['allBut', arr(a[1], `${field}[1]`, MAX_MEMBERS).map((x, i) => id(x, `${field}[1][${i}]`))]
  }
  throw new FrameError(`${field} must be ["all"], ["origins"], ["edges"], ["node", id] or ["allBut", [ids]]`)
}

function errorInfo(v: unknown, field: string): { name: string; message: string } {
  const o = obj(v, field)
  return { name: str(o.name, `${field}.name`, 128), message: str(o.message, `${field}.message`, 4096) }
}

export function busEnvelope(v: unknown, field: string): BusEnvelope {
  const o = obj(v, field)
  const s = int(o.s, `${field}.s`, 1)
  const t = target(o.t, `${field}.t`)
  if ('c' in o) {
    if (!('d' in o)) throw new FrameError(`${field}.d is missing`)
    return { s, t, c: name(o.c, `${field}.c`), d: o.d }
  }
  if ('q' in o) {
    const q = obj(o.q, `${field}.q`)
    const m = str(q.m, `${field}.q.m`, 257)
    if (parseMethodName(m) === null) throw new FrameError(`${field}.q.m must be "handler.method"`)
    return { s, t, q: { i: int(q.i, `${field}.q.i`, 1), m, a: q.a ?? null } }
  }
  if ('p' in o) {
    const p = obj(o.p, `${field}.p`)
    const ok = bool(p.ok, `${field}.p.ok`)
    const i = int(p.i, `${field}.p.i`, 1)
    if (ok) return { s, t, p: { i, ok, v: p.v ?? null } }
    return { s, t, p: { i, ok, e: errorInfo(p.e, `${field}.p.e`) } }
  }
  throw new FrameError(`${field} must carry c+d (data), q (request) or p (reply)`)
}

function envelopes(v: unknown, field: string): BusEnvelope[] {
  const list = arr(v, field, MAX_BATCH).map((m, i) => busEnvelope(m, `${field}[${i}]`))
  for (let i = 1; i < list.length; i++)
    if ((list[i] as BusEnvelope).s <= (list[i - 1] as BusEnvelope).s)
      throw new FrameError(`${field} sequence numbers must rise`)
  return list
}

function member(v: unknown, field: string): Member {
  const o = obj(v, field)
  const role = o.role
  if (!ROLES.includes(role as Role)) throw new FrameError(`${field}.role must be one of ${ROLES.join(', ')}`)
  const load = obj(o.load, `${field}.load`)
  return {
    id: id(o.id, `${field}.id`),
    role: role as Role,
    publicIp: str(o.publicIp, `${field}.publicIp`, 255),
    publicPort: int(o.publicPort, `${field}.publicPort`, 1, 65535),
    http: str(o.http, `${field}.http`, 300),
    mesh: str(o.mesh, `${field}.mesh`, 300),
    privateInstance: bool(o.privateInstance, `${field}.privateInstance`),
    startedAt: num(o.startedAt, `${field}.startedAt`, 1),
    load: {
      subscribers: int(load.subscribers, `${field}.load.subscribers`),
      streams: int(load.streams, `${field}.load.streams`),
    },
    data: obj(o.data, `${field}.data`),
  }
}

function view(v: unknown, field: string): WireView {
  const o = obj(v, field)
  const members = arr(o.members, `${field}.members`, MAX_MEMBERS).map((x, i) =>
    id(x, `${field}.members[${i}]`),
  )
  if (members.length === 0) throw new FrameError(`${field}.members must not be empty`)
  const out: WireView = { counter: int(o.counter, `${field}.counter`, 1), members }
  if (o.records !== undefined) {
    const records = arr(o.records, `${field}.records`, MAX_MEMBERS).map((r, i) =>
      member(r, `${field}.records[${i}]`),
    )
    const ids = new Set(members)
    if (records.some((r) => !ids.has(r.id)))
      throw new FrameError(`${field}.records must be members of the view`)
    out.records = records
  }
  if (o.sides !== undefined) {
    const ids = new Set(members)
    const seen = new Set<string>()
    out.sides = arr(o.sides, `${field}.sides`, MAX_MEMBERS).map((g, i) =>
      arr(g, `${field}.sides[${i}]`, MAX_MEMBERS).map((x, j) => {
        const m = id(x, `${field}.sides[${i}][${j}]`)
        if (!ids.has(m) || seen.has(m))
          throw new FrameError(`${field}.sides must hold members of the view, each once`)
        seen.add(m)
        return m
      }),
    )
  }
  return out
}

function heartbeat(o: Obj): HeartbeatFrame {
  const frame: HeartbeatFrame = {
    v: WIRE_VERSION,
    k: 'hb',
    n: int(o.n, 'n', 1),
    member: member(o.member, 'member'),
    seq: int(o.seq, 'seq'),
    acks: seqMap(o.acks, 'acks', MAX_MEMBERS),
    joined: seqMap(o.joined, 'joined', MAX_MEMBERS),
  }
  if (o.view !== undefined) frame.view = view(o.view, 'view')
  if (o.side !== undefined) frame.side = str(o.side, 'side', MAX_VIEW_ID)
  return frame
}

function bus(o: Obj): BusFrame {
  const msgs = envelopes(o.msgs, 'msgs')
  if (msgs.length === 0) throw new FrameError('msgs must not be empty')
  return { v: WIRE_VERSION, k: 'bus', from: id(o.from, 'from'), msgs }
}

function head(v: unknown): Obj {
  if (!isObj(v)) throw new FrameError('a frame must be a JSON object')
  if (v.v !== WIRE_VERSION) throw new FrameError(`unknown wire version ${JSON.stringify(v.v)}`)
  return v
}

/** Checks a decoded topic frame; throws `FrameError`. */
export function topicFrame(v: unknown): TopicFrame {
  const o = head(v)
  switch (o.k) {
    case 'hb':
      return heartbeat(o)
    case 'bus':
      return bus(o)
    case 'leave':
      return { v: WIRE_VERSION, k: 'leave', from: id(o.from, 'from') }
  }
  throw new FrameError(`unknown topic frame kind ${JSON.stringify(o.k)}`)
}

function ranges(v: unknown): [number, number][] {
  return arr(v, 'ranges', MAX_NAK_RANGES).map((r, i) => {
    const pair = arr(r, `ranges[${i}]`, 2)
    const from = int(pair[0], `ranges[${i}][0]`, 1)
    const to = int(pair[1], `ranges[${i}][1]`, from)
    return [from, to]
  })
}

/** Checks a decoded direct frame; throws `FrameError`. */
export function directFrame(v: unknown): DirectFrame {
  const o = head(v)
  const from = id(o.from, 'from')
  switch (o.k) {
    case 'nak':
      return { v: WIRE_VERSION, k: 'nak', from, ranges: ranges(o.ranges) }
    case 'rtx':
      return { v: WIRE_VERSION, k: 'rtx', from, low: int(o.low, 'low', 1), msgs: envelopes(o.msgs, 'msgs') }
    case 'ack':
      return { v: WIRE_VERSION, k: 'ack', from, seq: int(o.seq, 'seq') }
    case 'leave':
      return { v: WIRE_VERSION, k: 'leave', from }
    case 'state?':
      if (o.names === undefined) return { v: WIRE_VERSION, k: 'state?', from }
      return {
        v: WIRE_VERSION,
        k: 'state?',
        from,
        names: arr(o.names, 'names', MAX_STATE_NAMES).map((x, i) => name(x, `names[${i}]`)),
      }
    case 'state':
      return {
        v: WIRE_VERSION,
        k: 'state',
        from,
        state: obj(o.state, 'state'),
        digest: seqMap(o.digest, 'digest', MAX_MEMBERS),
      }
  }
  throw new FrameError(`unknown direct frame kind ${JSON.stringify(o.k)}`)
}
