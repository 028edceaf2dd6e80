import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import Flv from 'node-media-server/src/protocol/flv.js'
import { enhancedVideoTag, fourccId, frameTag, PACKET_TYPE } from '../src/enhanced-publisher.ts'

const payload = Buffer.from([0xaa, 0xbb])

/** What node-media-server's FLV parser (the one meshcast's media adapter uses) reads from a tag body. */
const parsed = (body: Buffer, dts = 1000) => {
  const p = Flv.parserTag(9, dts, body.length, body)
  return { flags: p.flags, codec: p.codec_id, cts: p.pts - p.dts }
}

describe('Enhanced RTMP video tags', () => {
  test('a SequenceStart is 0x80 | key << 4 | 0, the FourCC, the record', () => {
    const tag = enhancedVideoTag('av01', PACKET_TYPE.sequenceStart, true, payload)
    assert.deepEqual([...tag], [0x90, ...Buffer.from('av01'), 0xaa, 0xbb])
    assert.deepEqual(parsed(tag), { flags: 2, codec: fourccId('av01'), cts: 0 })
  })

  test('HEVC CodedFrames carry a 24-bit signed composition time; CodedFramesX none', () => {
    const withCts = frameTag('hvc1', false, payload, 80)
    assert.deepEqual([...withCts], [0xa1, ...Buffer.from('hvc1'), 0, 0, 80, 0xaa, 0xbb])
    assert.deepEqual(parsed(withCts), { flags: 4, codec: fourccId('hvc1'), cts: 80 })
    assert.deepEqual([...frameTag('hvc1', false, payload, -40).subarray(5, 8)], [0xff, 0xff, 0xd8])
    const x = frameTag('hvc1', true, payload, 0)
    assert.deepEqual([...x], [0x93, ...Buffer.from('hvc1'), 0xaa, 0xbb])
    assert.deepEqual(parsed(x), { flags: 3, codec: fourccId('hvc1'), cts: 0 })
  })

  test('AV1 and VP9 frames are CodedFrames without a composition time', () => {
    for (const fourcc of ['av01', 'vp09']) {
      const tag = frameTag(fourcc, true, payload, 0)
      assert.deepEqual([...tag], [0x91, ...Buffer.from(fourcc), 0xaa, 0xbb])
      assert.deepEqual(parsed(tag), { flags: 3, codec: fourccId(fourcc), cts: 0 })
    }
  })

  test('videocodecid is the FourCC as a big-endian uint32', () => {
    assert.equal(fourccId('hvc1'), 0x68766331)
    assert.equal(fourccId('av01'), 0x61763031)
  })
})
