import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { silentLogger } from '@meshcast/interface'
import { HEAL_CAP_MS, LostMembers } from '../src/transport/lost-members.ts'

/** A clock and timers the test moves by hand, and a dialer that answers as told. */
function harness(windowMs = 60_000) {
  let now = 0
  const timers = new Map<number, { at: number; fn: () => void }>()
  let next = 1
  const dials: string[] = []
  const answering = new Map<string, string>()
  const connected = new Set<string>()
  const lines: string[] = []
  const log = (message: string) => lines.push(message)
  const logger = { ...silentLogger, info: log, debug: () => {}, child: () => logger }
  const lost = new LostMembers(
    { windowMs },
    {
      dial: async (t) => {
        const key = `${t.host}:${t.port}`
        dials.push(key)
        const peer = answering.get(key)
        if (peer === undefined) throw new Error('ECONNREFUSED')
        connected.add(peer)
        return peer
      },
      isConnected: (peer) => connected.has(peer),
      logger,
      now: () => now,
      setTimer: (fn, ms) => {
        const id = next++
        timers.set(id, { at: now + ms, fn })
        return id
      },
      clearTimer: (id) => timers.delete(id as number),
      random: () => 0.5,
    },
  )
  /** Runs every timer due within `ms`, in order, letting each dial end. */
  async function advance(ms: number): Promise<void> {
    const end = now + ms
    for (;;) {
      const due = [...timers.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0]
      if (due === undefined) break
      timers.delete(due[0])
      now = due[1].at
      due[1].fn()
      for (let i = 0; i < 5; i++) await Promise.resolve()
    }
    now = end
  }
  return { lost, dials, answering, connected, lines, advance, timers }
}

describe('lost members: the last addresses of members gone without a goodbye', () => {
  test('dialled with backoff (0.5 s doubling to 5 s) until the address answers', async () => {
    const h = harness()
    h.lost.lost('peerB', '10.0.0.2:7800')
    await h.advance(500)
    assert.deepEqual(h.dials, ['10.0.0.2:7800'], 'the first look after 0.5 s')
    await h.advance(1000 + 2000 + 4000)
    assert.equal(h.dials.length, 4, 'then 1, 2, 4 s')
    await h.advance(HEAL_CAP_MS * 3)
    assert.equal(h.dials.length, 7, 'then every 5 s')
    h.answering.set('10.0.0.2:7800', 'peerB')
    await h.advance(HEAL_CAP_MS)
    assert.equal(h.dials.length, 8)
    assert.ok(h.lines.includes("a lost member's address answers again: merging"))
    // connected now: looked at, not dialled again, until heard
    await h.advance(HEAL_CAP_MS * 2)
    assert.equal(h.dials.length, 8)
    h.lost.heard('10.0.0.2:7800')
    assert.deepEqual(h.lost.addresses, [])
    assert.equal(h.timers.size, 0)
  })

  test('a member heard at the address (a restart: a new id) ends the search; so does the window', async () => {
    const h = harness(20_000)
    h.lost.lost('peerB', '10.0.0.2:7800')
    h.lost.lost('peerC', '[fd00::3]:7800')
    h.lost.heard('10.0.0.2:7800')
    assert.deepEqual(h.lost.addresses, ['[fd00::3]:7800'])
    await h.advance(25_000)
    assert.deepEqual(h.lost.addresses, [], 'given up after the window')
    assert.ok(h.lines.includes('gave up looking for a lost member'))
    const dials = h.dials.length
    await h.advance(60_000)
    assert.equal(h.dials.length, dials, 'nothing dialled after')
  })

  test('one search per address; wildcard and unparsable addresses, a window of 0 and a stop: none', async () => {
    const h = harness()
    h.lost.lost('peerB', '10.0.0.2:7800')
    h.lost.lost('peerB2', '10.0.0.2:7800')
    h.lost.lost('peerX', '0.0.0.0:7800')
    h.lost.lost('peerY', 'nonsense')
    assert.deepEqual(h.lost.addresses, ['10.0.0.2:7800'])
    h.lost.stop()
    assert.equal(h.timers.size, 0)
    h.lost.lost('peerC', '10.0.0.3:7800')
    assert.deepEqual(h.lost.addresses, [])
    const off = harness(0)
    off.lost.lost('peerB', '10.0.0.2:7800')
    assert.deepEqual(off.lost.addresses, [])
  })

  test('a member still connected here (another member dropped it) is not dialled a second time', async () => {
    const h = harness()
    h.connected.add('peerB')
    h.lost.lost('peerB', '10.0.0.2:7800')
    await h.advance(10_000)
    assert.deepEqual(h.dials, [])
  })
})
