import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { BitrateMeter, twoSignificant } from '../src/bitrate.ts'

describe('stream bitrate (adverts kbps)', () => {
  test('rounds to 2 significant digits, so that adverts change rarely', () => {
    assert.deepEqual(
      [1234, 1250.1, 987, 99.5, 0.456, 0, Number.NaN].map(twoSignificant),
      [1200, 1300, 990, 100, 0.46, 0, 0],
    )
  })

  test('kbit/s over the last 5 s of samples; 0 until a second of them', () => {
    const meter = new BitrateMeter(5000)
    // 125 000 bytes a second = 1000 kbit/s
    meter.sample([{ path: '/live/a', inBytes: 0 }], 0)
    meter.sample([{ path: '/live/a', inBytes: 62_500 }], 500)
    assert.equal(meter.kbps('/live/a'), 0, 'half a second says little')
    for (let t = 1000; t <= 10_000; t += 500) meter.sample([{ path: '/live/a', inBytes: t * 125 }], t)
    assert.equal(meter.kbps('/live/a'), 1000)
    // the rate halves: the 5 s window follows within 5 s
    for (let t = 10_500; t <= 15_000; t += 500)
      meter.sample([{ path: '/live/a', inBytes: 1_250_000 + (t - 10_000) * 62.5 }], t)
    assert.equal(meter.kbps('/live/a'), 500)
  })

  test('a stream that goes is forgotten; one whose bytes went down began again', () => {
    const meter = new BitrateMeter(5000)
    meter.sample([{ path: '/live/a', inBytes: 1_000_000 }], 0)
    meter.sample([{ path: '/live/a', inBytes: 1_125_000 }], 1000)
    assert.equal(meter.kbps('/live/a'), 1000)
    meter.sample([{ path: '/live/a', inBytes: 100 }], 1500)
    assert.equal(meter.kbps('/live/a'), 0, 'no negative rate across a restart')
    meter.sample([], 2000)
    assert.equal(meter.kbps('/live/a'), 0)
  })
})
