// The chunk rate: a connection whose chunks outrun its rate is read more slowly (its socket
// paused until the rate allows it again), told once; one within the rate is never paused.
// An injected clock and Node's mock timers: no sleeps.
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import { mock, test } from 'node:test'
import type { RtmpSession } from '../src/nms/nms.ts'
import { throttleChunks } from '../src/rtmp/rtmp-bounds.ts'

/** A session whose data handler parses `chunksPer(data)` chunks, on a socket that records pauses. */
function session() {
  const socket = Object.assign(new EventEmitter(), {
    destroyed: false,
    paused: false,
    pause() {
      this.paused = true
    },
    resume() {
      this.paused = false
    },
  })
  const parser = { packetParse: () => undefined }
  const s = {
    socket,
    rtmp: parser,
    // what NMS's handler does per data event here: one chunk per byte
    onData: (data: Buffer) => {
      for (let i = 0; i < data.length; i++) parser.packetParse()
    },
  }
  return { s, socket, parser }
}

test('a connection within its rate is never paused; one over it is paused until the rate allows it, and told once', () => {
  mock.timers.enable({ apis: ['setTimeout'] })
  try {
    let now = 0
    const told: string[] = []
    const { s, socket, parser } = session()
    throttleChunks(
      s as unknown as RtmpSession,
      parser as never,
      1000,
      (d) => told.push(d),
      () => now,
    )
    // 100 chunks every 100 ms: exactly the rate
    for (let i = 0; i < 20; i++) {
      now += 100
      s.onData(Buffer.alloc(100))
      assert.equal(socket.paused, false, `paused at ${now} ms within the rate`)
    }
    // a burst of 700 chunks: the allowance (200 ms of chunks) covers 200; 500 chunks of debt
    now += 100
    s.onData(Buffer.alloc(700))
    assert.equal(socket.paused, true)
    assert.equal(told.length, 1)
    assert.match(told[0] ?? '', /faster than 1000 per second/)
    // paused for the debt at the rate: 500 chunks at 1000/s = 500 ms
    mock.timers.tick(499)
    assert.equal(socket.paused, true)
    mock.timers.tick(1)
    assert.equal(socket.paused, false)
    // breaking it again pauses again, but is not told again
    now += 500
    s.onData(Buffer.alloc(2000))
    assert.equal(socket.paused, true)
    assert.equal(told.length, 1)
  } finally {
    mock.timers.reset()
  }
})

test('a closed connection is not resumed', () => {
  mock.timers.enable({ apis: ['setTimeout'] })
  try {
    const { s, socket, parser } = session()
    throttleChunks(
      s as unknown as RtmpSession,
      parser as never,
      1000,
      () => undefined,
      () => 0,
    )
    s.onData(Buffer.alloc(5000))
    assert.equal(socket.paused, true)
    socket.emit('close')
    mock.timers.tick(10_000)
    assert.equal(socket.paused, true)
  } finally {
    mock.timers.reset()
  }
})
