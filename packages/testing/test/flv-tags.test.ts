import assert from 'node:assert/strict'
import { test } from 'node:test'
import { FlvTagReader } from '../src/flv-tags.ts'

function tag(type: number, timestamp: number, body: number[]): Buffer {
  const head = Buffer.alloc(11)
  head[0] = type
  head.writeUIntBE(body.length, 1, 3)
  head.writeUIntBE(timestamp & 0xffffff, 4, 3)
  head[7] = timestamp >>> 24
  const prev = Buffer.alloc(4)
  prev.writeUInt32BE(11 + body.length)
  return Buffer.concat([head, Buffer.from(body), prev])
}

const header = Buffer.from([0x46, 0x4c, 0x56, 1, 5, 0, 0, 0, 9, 0, 0, 0, 0])

test('reads tags split anywhere, with extended timestamps and keyframes', () => {
  const bytes = Buffer.concat([
    header,
    tag(9, 40, [0x17, 1]),
    tag(8, 0x1000001, [0xaf]),
    tag(9, 80, [0x27, 1]),
  ])
  const reader = new FlvTagReader()
  const tags = []
  for (let i = 0; i < bytes.length; i += 5) tags.push(...reader.push(bytes.subarray(i, i + 5)))
  assert.deepEqual(
    tags.map((t) => [t.type, t.timestamp, t.keyframe]),
    [
      [9, 40, true],
      [8, 0x1000001, false],
      [9, 80, false],
    ],
  )
})

test('bytes that are not FLV throw', () => {
  assert.throws(() => new FlvTagReader().push(Buffer.from('HTTP/1.1 200 OK\r\n\r\n')), /not an FLV stream/)
  const reader = new FlvTagReader()
  assert.throws(() => reader.push(Buffer.concat([header, Buffer.alloc(11, 0x41)])), /tag type/)
})
