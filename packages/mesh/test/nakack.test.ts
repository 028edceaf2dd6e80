import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { ReceiveWindow } from '../src/bus/receive-window.ts'
import { RetransmitBuffer } from '../src/bus/retransmit-buffer.ts'

describe('ReceiveWindow', () => {
  test('delivers in sequence order whatever the arrival order, each exactly once', () => {
    const w = new ReceiveWindow<string>(1)
    assert.deepEqual(w.add(2, 'b'), { deliver: [], duplicate: false })
    assert.deepEqual(w.add(3, 'c'), { deliver: [], duplicate: false })
    assert.deepEqual(w.missing(), [{ from: 1, to: 1 }])
    assert.deepEqual(w.add(1, 'a'), { deliver: ['a', 'b', 'c'], duplicate: false })
    assert.deepEqual(w.add(2, 'b'), { deliver: [], duplicate: true })
    assert.equal(w.next, 4)
    assert.deepEqual(w.missing(), [])
  })

  test('reports gaps as ranges, bounded by a limit', () => {
    const w = new ReceiveWindow<number>(10)
    w.add(12, 12)
    w.add(15, 15)
    w.announce(18)
    assert.deepEqual(w.missing(), [
      { from: 10, to: 11 },
      { from: 13, to: 14 },
      { from: 16, to: 18 },
    ])
    assert.deepEqual(w.missing(3), [
      { from: 10, to: 11 },
      { from: 13, to: 13 },
    ])
  })

  test('skipTo gives up a gap the sender can no longer fill and delivers what follows', () => {
    const w = new ReceiveWindow<string>(1)
    w.add(4, 'd')
    w.add(5, 'e')
    assert.deepEqual(w.skipTo(4), { lost: { from: 1, to: 3 }, deliver: ['d', 'e'] })
    assert.equal(w.next, 6)
    assert.deepEqual(w.skipTo(2), { lost: null, deliver: [] })
  })

  test('keeps delivering falsy items', () => {
    const w = new ReceiveWindow<number | null>(0)
    assert.deepEqual(w.add(1, null).deliver, [])
    assert.deepEqual(w.add(0, 0).deliver, [0, null])
  })
})

describe('RetransmitBuffer', () => {
  test('numbers messages from 1 and returns them by number', () => {
    const b = new RetransmitBuffer<string>(4)
    assert.equal(b.push('a'), 1)
    assert.equal(b.push('b'), 2)
    assert.equal(b.get(1), 'a')
    assert.equal(b.get(2), 'b')
    assert.equal(b.get(3), undefined)
    assert.equal(b.get(0), undefined)
  })

  test('holds only the last `capacity` messages', () => {
    const b = new RetransmitBuffer<number>(3)
    for (let i = 1; i <= 5; i++) b.push(i * 10)
    assert.equal(b.lowestHeld, 3)
    assert.equal(b.get(2), undefined)
    assert.deepEqual([b.get(3), b.get(4), b.get(5)], [30, 40, 50])
    assert.equal(b.nextSeq, 6)
  })

  test('rejects a capacity below one', () => {
    assert.throws(() => new RetransmitBuffer(0), RangeError)
  })
})
