import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { ffmpegPath } from '@meshcast/node/ffmpeg'
import {
  flashBeepArgs,
  measureAvSync,
  measureSamples,
  onsetSamples,
  onsets,
  pairOnsets,
  parseMetadataPrint,
} from '../src/av-sync.ts'
import { ForeignProcess } from '../src/foreign-run.ts'

describe('A/V sync measured from the content', () => {
  let dir = ''
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'meshcast-avsync-test-'))
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  /** Runs the project's ffmpeg to completion; fails with its output when it fails. */
  const ffmpeg = async (args: string[]) => {
    const proc = new ForeignProcess([ffmpegPath(), ...args])
    const exit = await proc.exited
    assert.equal(exit.code, 0, proc.output())
  }

  test('onsets are the rises above the threshold after a quiet spell; pairs take the nearest beep', () => {
    const levels = [200, 200, 10, 10, 200, 10, 200, 10]
    const samples = [0, 0.04, 0.08, 0.12, 1, 1.04, 1.5, 1.54].map((t, i) => ({ t, v: levels[i] as number }))
    assert.deepEqual(onsets(samples, 128), [0, 1, 1.5])
    assert.deepEqual(onsets(samples, 128, 0.6), [0, 1])
    assert.deepEqual(pairOnsets([1, 2, 5], [1.02, 1.9, 2.3]), [
      { flash: 1, beep: 1.02, offsetMs: 20 },
      { flash: 2, beep: 1.9, offsetMs: -100 },
    ])
  })

  test('a restarted timeline starts its onsets afresh, and beeps pair only with flashes that arrived near them', () => {
    // a flash and a beep at pts 1 s, then the timeline restarts 5 s later (as at an upstream change)
    // with a flash at pts 1.0 and a beep 100 ms late
    const luma = [
      { t: 0.96, v: 16, at: 960 },
      { t: 1, v: 235, at: 1000 },
      { t: 0.96, v: 16, at: 5960 },
      { t: 1, v: 235, at: 6000 },
    ]
    const rms = [
      { t: 0.99, v: -90, at: 990 },
      { t: 1, v: -9, at: 1000 },
      { t: 0.5, v: -90, at: 5500 },
      { t: 1.09, v: -90, at: 6090 },
      { t: 1.1, v: -9, at: 6100 },
    ]
    assert.deepEqual(
      onsetSamples(luma, 128).map((s) => s.at),
      [1000, 6000],
    )
    const sync = measureSamples(luma, rms, '')
    assert.deepEqual(
      sync.pairs.map((p) => p.offsetMs),
      [0, 100],
    )
  })

  test('metadata=print output reads as samples, -inf included', () => {
    const text = 'frame:0    pts:0       pts_time:0\nk=-inf\nframe:1    pts:16      pts_time:0.002\nk=-9.5\n'
    assert.deepEqual(parseMetadataPrint(text, 'k'), [
      { t: 0, v: Number.NEGATIVE_INFINITY },
      { t: 0.002, v: -9.5 },
    ])
  })

  test("the encoder's own file: every flash has its beep within a few ms", async () => {
    const file = join(dir, 'aligned.flv')
    await ffmpeg(flashBeepArgs(file, { seconds: 8, live: false }))
    const sync = await measureAvSync(file)
    assert.ok(sync.pairs.length >= 7, `${sync.pairs.length} pairs: ${JSON.stringify(sync)}`)
    for (const p of sync.pairs)
      assert.ok(Math.abs(p.offsetMs) <= 10, `offset ${p.offsetMs} ms at ${p.flash} s`)
  })

  test('a file with its audio shifted 200 ms late by -itsoffset measures +200 ms', async () => {
    const aligned = join(dir, 'aligned-2.flv')
    const shifted = join(dir, 'shifted.mkv')
    await ffmpeg(flashBeepArgs(aligned, { seconds: 8, live: false }))
    await ffmpeg([
      ...['-hide_banner', '-loglevel', 'error', '-i', aligned, '-itsoffset', '0.2', '-i', aligned],
      ...['-map', '0:v', '-map', '1:a', '-c', 'copy', '-y', shifted],
    ])
    const sync = await measureAvSync(shifted)
    assert.ok(sync.pairs.length >= 6, `${sync.pairs.length} pairs: ${JSON.stringify(sync)}`)
    assert.ok(Math.abs((sync.medianMs ?? 0) - 200) <= 10, `median ${sync.medianMs} ms`)
  })
})
