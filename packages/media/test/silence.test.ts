import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { LEARN_PACKETS, SilenceWatch } from '../src/pull/silence.ts'

/** Feeds media every `everyMs` from `from` for `n` packets; returns the time of the last. */
function feed(w: SilenceWatch, from: number, everyMs: number, n: number): number {
  let t = from
  for (let i = 0; i < n; i++) {
    t = from + i * everyMs
    w.media(t)
  }
  return t
}

describe('silence watch', () => {
  test('a steady 30 fps upstream silent for a few frame intervals is quiet, then stalled at stallMs', () => {
    const w = new SilenceWatch({ stallMs: 2000 })
    const last = feed(w, 0, 33, 100)
    assert.equal(w.quietMs, 8 * 33, 'eight frame intervals')
    assert.equal(w.check(last + 260), 'playing')
    assert.equal(w.check(last + 270), 'quiet')
    assert.equal(w.check(last + 400), 'playing', 'quiet is told once per spell')
    assert.equal(w.check(last + 2001), 'stalled')
  })

  test('a slow frame rate waits longer: 8 frame intervals of a 10 fps stream', () => {
    const w = new SilenceWatch({ stallMs: 2000 })
    const last = feed(w, 0, 100, 100)
    assert.ok(Math.abs(w.quietMs - 800) < 1, `quiet after ${w.quietMs} ms`)
    assert.equal(w.check(last + 700), 'playing')
    assert.equal(w.check(last + 850), 'quiet')
  })

  test('a jittery upstream (gaps up to 300 ms in a 30 fps stream) is never quiet within its jitter', () => {
    const w = new SilenceWatch({ stallMs: 2000 })
    let t = 0
    for (let i = 0; i < 300; i++) {
      // a burst after every 20th frame's late delivery, as over a lossy link
      const gap = i % 20 === 19 ? 300 : 20
      assert.notEqual(w.check(t + gap - 1), 'quiet', `quiet at packet ${i} (gap ${gap})`)
      t += gap
      w.media(t)
    }
    assert.ok(w.quietMs >= 600, `the bar rose to ${w.quietMs} ms`)
  })

  test('an upstream resuming after a quiet spell says so once, and the next spell needs a longer silence', () => {
    const w = new SilenceWatch({ stallMs: 2000 })
    const last = feed(w, 0, 33, 100)
    assert.equal(w.check(last + 300), 'quiet')
    assert.equal(w.quiet, true)
    assert.equal(w.media(last + 320), true, 'the media ends the quiet spell')
    assert.equal(w.quiet, false)
    assert.equal(w.media(last + 353), false)
    assert.ok(w.quietMs >= 630, `after a 320 ms gap quiet needs ${w.quietMs} ms`)
    assert.equal(w.check(last + 353 + 400), 'playing', 'the same silence again is not quiet: no flapping')
  })

  test('never quiet while the gaps are being learnt, nor later than stallMs', () => {
    const w = new SilenceWatch({ stallMs: 150 })
    assert.equal(w.check(1_000_000), 'playing')
    const last = feed(w, 0, 10, LEARN_PACKETS - 1)
    assert.equal(w.check(last + 140), 'playing', 'too few packets to tell')
    assert.equal(w.quietMs, 150, 'capped at stallMs')
  })

  test('a replacing upstream starts with the jitter learnt from the one it replaces', () => {
    const w = new SilenceWatch({ stallMs: 2000, peakMs: 400 })
    const last = feed(w, 0, 33, 50)
    assert.ok(w.quietMs >= 2 * 400 * 0.99 ** 50, `quiet after ${w.quietMs} ms`)
    assert.equal(w.check(last + 300), 'playing')
  })
})
