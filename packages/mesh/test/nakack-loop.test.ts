import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { silentLogger } from '@meshcast/interface'
import { BusReceiver } from '../src/bus/receiver.ts'
import { BusSender } from '../src/bus/sender.ts'
import { Random } from '../src/sim/random.ts'
import { decodeTopicFrame } from '../src/wire/codec.ts'
import type { BusEnvelope } from '../src/wire/frames.ts'

const S = 'SSSSSSSSssss'
const R = 'RRRRRRRRrrrr'
/** Which frames are lost and how long each takes; printed, and set with NAKACK_SEED to replay a failure's losses. */
const SEED = Number(process.env.NAKACK_SEED ?? Date.now() % 2 ** 32)
process.stdout.write(`# nakack-loop seed ${SEED} (NAKACK_SEED=${SEED} replays its losses)\n`)

/** One sender, one receiver, a network that loses and reorders frames: everything still arrives once, in order. */
function lossyPair(lossRate: number, maxInFlight = 500) {
  const random = new Random(SEED)
  const delivered: number[] = []
  const lost: number[] = []
  let awaited: { count: number; resolve: () => void } | null = null
  let sender: BusSender
  const receiver = new BusReceiver(
    { ackEvery: Math.floor(maxInFlight / 4), maxNak: 5000, tailAfter: 50 },
    {
      deliver: (_from, env: BusEnvelope) => {
        delivered.push(('d' in env ? env.d : 0) as number)
        if (awaited !== null && delivered.length >= awaited.count) awaited.resolve()
      },
      lost: (_from, range) => lost.push(range.to - range.from + 1),
      ack: (_from, seq) => setTimeout(() => sender.ack(R, seq), 1),
    },
  )
  sender = new BusSender(
    { maxInFlight, maxBatchBytes: 2000 },
    {
      selfId: S,
      logger: silentLogger,
      publish: async (bytes) => {
        if (random.chance(lossRate)) return
        const d = decodeTopicFrame(bytes, 1 << 20)
        assert.ok(d.ok && d.frame.k === 'bus')
        const msgs = d.frame.msgs
        setTimeout(() => receiver.receive(S, msgs), random.between(0, 5)) // reorders
      },
    },
  )
  sender.addMember(R)
  receiver.heartbeat(S, 0, 1)
  /** what a heartbeat and a NAK round do, on a timer */
  const timer = setInterval(() => {
    receiver.heartbeat(S, sender.highest, 1)
    for (const { ranges } of receiver.naksDue()) {
      const msgs = ranges.flatMap((r) => sender.held(r.from, r.to).map((j) => JSON.parse(j) as BusEnvelope))
      setTimeout(() => receiver.retransmitted(S, sender.lowestHeld, msgs), 1)
    }
    receiver.flushAcks()
  }, 10)
  /** Resolves once `count` messages were delivered, or after `timeoutMs` (the test's assertions then say what is missing). */
  const deliveredAll = (count: number, timeoutMs: number) =>
    new Promise<void>((resolve) => {
      const bound = setTimeout(resolve, timeoutMs)
      awaited = {
        count,
        resolve: () => {
          clearTimeout(bound)
          resolve()
        },
      }
      if (delivered.length >= count) awaited.resolve()
    })
  return { sender, receiver, delivered, lost, deliveredAll, stop: () => clearInterval(timer) }
}

describe('bus NAKACK over a lossy network', () => {
  test('30% frame loss plus reordering: every message once, in order, no gap', async () => {
    const { sender, delivered, lost, deliveredAll, stop } = lossyPair(0.3)
    const count = 5000
    const sends: Promise<void>[] = []
    for (let i = 1; i <= count; i++) sends.push(sender.send(['all'], `"c":"t","d":${i}`))
    await Promise.all(sends)
    await deliveredAll(count, 20_000)
    stop()
    assert.equal(delivered.length, count)
    assert.deepEqual(
      delivered,
      Array.from({ length: count }, (_, i) => i + 1),
    )
    assert.deepEqual(lost, [])
  })

  test('flow control: the sender never has more than maxInFlight unacknowledged', async () => {
    let peak = 0
    const { sender, delivered, deliveredAll, stop } = lossyPair(0, 200)
    const sends: Promise<void>[] = []
    const watch = setInterval(() => (peak = Math.max(peak, sender.highest - (sender.lowestHeld - 1))), 1)
    for (let i = 1; i <= 3000; i++) sends.push(sender.send(['all'], `"c":"t","d":${i}`))
    await Promise.all(sends)
    await deliveredAll(3000, 20_000)
    clearInterval(watch)
    stop()
    assert.equal(delivered.length, 3000)
    assert.ok(peak <= 200, `peak in flight ${peak}`)
  })

  test('a receiver counted afresh by its sender reports what it missed as a gap', () => {
    const lost: { from: number; to: number }[] = []
    const receiver = new BusReceiver(
      { ackEvery: 100, maxNak: 100, tailAfter: 50 },
      { deliver: () => {}, lost: (_f, r) => lost.push(r), ack: () => {} },
    )
    receiver.heartbeat(S, 0, 1)
    receiver.receive(S, [{ s: 1, t: ['all'], c: 'x', d: 1 }])
    receiver.heartbeat(S, 40, 41) // we were out of the sender's membership while it sent 2..40
    assert.deepEqual(lost, [{ from: 2, to: 40 }])
  })
})
