import assert from 'node:assert/strict'
import { once } from 'node:events'
import net from 'node:net'
import { describe, test } from 'node:test'
import { silentLogger } from '@meshcast/interface'
import { AVPacket, Rtmp, RtmpSession } from '../src/nms/nms.ts'
import { PlayerGuard } from '../src/player-guard.ts'
import { isClusterPull, messageKind, skipStats, skipToKeyframes } from '../src/pull/slow-pull.ts'

/** A player whose socket holds what it is given until `drain`. */
function player(query: Record<string, string> = {}) {
  const sent: Buffer[] = []
  let destroyed = false
  const socket = {
    remoteAddress: '127.0.0.9',
    remotePort: 5000,
    writableLength: 0,
    write(b: Buffer) {
      sent.push(b)
      this.writableLength += b.length
      return true
    },
    destroy() {
      destroyed = true
    },
  }
  const session = new RtmpSession(socket as unknown as net.Socket)
  session.streamQuery = query
  return { session, socket, sent, destroyed: () => destroyed }
}

function message(type: 8 | 9, payload: number[], size = 1000): Buffer {
  const p = new AVPacket()
  p.codec_type = type
  p.data = Buffer.concat([Buffer.from(payload), Buffer.alloc(size)])
  p.size = p.data.length
  p.dts = 40
  return Rtmp.createMessage(p)
}

const keyframe = () => message(9, [0x17, 1])
const frame = () => message(9, [0x27, 1])
const audio = () => message(8, [0xaf, 1], 200)
const videoHeader = () => message(9, [0x17, 0], 40)

describe('a slow cluster pull', () => {
  test('the RTMP messages NMS writes are told apart: keyframe, frame, audio, headers', () => {
    assert.deepEqual(
      [keyframe(), frame(), audio(), videoHeader(), message(8, [0xaf, 0], 2)].map(messageKind),
      ['keyframe', 'video', 'audio', 'other', 'other'],
    )
  })

  test('an edge pull is known by its mark; a viewer is not', () => {
    assert.equal(isClusterPull(player({ meshcast: 'pull' }).session), true)
    assert.equal(isClusterPull(player().session), false)
  })

  test('behind the skip point it gets no media until a keyframe finds its backlog halved; headers still go', () => {
    const p = player({ meshcast: 'pull' })
    const spells: number[] = []
    skipToKeyframes(p.session, 10_000, (backlog) => spells.push(backlog))
    for (let i = 0; i < 12; i++) p.session.sendBuffer(i === 0 ? keyframe() : frame())
    const before = p.sent.length
    assert.equal(spells.length, 1, 'over 10 000 bytes: skipping')
    p.session.sendBuffer(frame())
    p.session.sendBuffer(audio())
    p.session.sendBuffer(videoHeader())
    assert.deepEqual(p.sent.slice(before).map(messageKind), ['other'], 'only the header went')
    p.session.sendBuffer(keyframe())
    assert.equal(p.sent.length, before + 1, 'still 10 kB behind: the keyframe is skipped too')
    p.socket.writableLength = 3000 // the pull read most of it
    p.session.sendBuffer(frame())
    p.session.sendBuffer(keyframe())
    p.session.sendBuffer(frame())
    assert.deepEqual(
      p.sent.slice(before + 1).map(messageKind),
      ['keyframe', 'video'],
      'resumed at a keyframe',
    )
    assert.deepEqual(skipStats(p.session), { skipping: false, spells: 1, skipped: 6 })
    assert.equal(p.destroyed(), false)
  })

  test('the guard cuts a viewer past the cap; a pull skips past half of it and is cut only past the cap', () => {
    const guard = new PlayerGuard(100_000, 1000, silentLogger)
    const viewer = player()
    const pull = player({ meshcast: 'pull' })
    const stuck = player({ meshcast: 'pull' })
    for (const s of [viewer, pull]) s.socket.writableLength = 150_000
    stuck.socket.writableLength = 40_000
    guard.check([viewer.session, pull.session, stuck.session])
    assert.deepEqual([viewer.destroyed(), pull.destroyed()], [true, true], 'past the cap, even a pull')
    stuck.session.sendBuffer(frame())
    assert.equal(skipStats(stuck.session)?.skipping, false, 'skips only past half the cap')
    stuck.socket.writableLength = 60_000
    stuck.session.sendBuffer(frame())
    assert.equal(skipStats(stuck.session)?.skipping, true)
    guard.check([stuck.session])
    assert.equal(stuck.destroyed(), false, 'a skipping pull within the cap is kept')
  })

  test('over a real socket that stops reading: a pull skips and is kept, a viewer is cut; the pull resumes when it reads', async (t) => {
    const server = net.createServer()
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    t.after(() => server.close())
    const { port } = server.address() as net.AddressInfo
    const connectPair = async () => {
      const accepted = new Promise<net.Socket>((r) => server.once('connection', r))
      const reader = net.connect(port, '127.0.0.1')
      reader.pause() // reads nothing: the writes pile up in the kernel, then in Node
      // a cut player's end is a reset, which is the point here
      reader.on('error', () => {})
      t.after(() => reader.destroy())
      const socket = await accepted
      t.after(() => socket.destroy())
      return { reader, socket }
    }
    const pullPair = await connectPair()
    const viewerPair = await connectPair()
    const pull = new RtmpSession(pullPair.socket)
    pull.streamQuery = { meshcast: 'pull' }
    const viewer = new RtmpSession(viewerPair.socket)
    const cap = 4 * 1024 * 1024
    const guard = new PlayerGuard(cap, 1000, silentLogger)
    guard.check([pull, viewer])
    // 40 MB of a stream with a keyframe every 25 messages, as fast as the event loop lets it go
    for (let i = 0; i < 400; i++) {
      for (const s of [pull, viewer])
        if (!s.socket.destroyed) s.sendBuffer(message(9, [i % 25 ? 0x27 : 0x17, 1], 100_000))
      if (i % 50 === 49) {
        guard.check([pull, viewer])
        await new Promise((r) => setImmediate(r))
      }
    }
    assert.equal(viewer.socket.destroyed, true, 'the viewer is cut')
    assert.equal(pull.socket.destroyed, false, 'the pull is kept')
    assert.ok(
      pull.socket.writableLength <= cap / 2 + 200_000,
      `the pull holds ${pull.socket.writableLength} bytes`,
    )
    assert.equal(skipStats(pull)?.skipping, true)
    // it reads again: the next keyframe goes once the backlog is down
    let got = 0
    pullPair.reader.on('data', (b: Buffer) => {
      got += b.length
    })
    pullPair.reader.resume()
    // Node emits drain once its buffer is empty: well below an eighth of the cap
    if (pull.socket.writableLength > cap / 8) await once(pull.socket, 'drain')
    pull.sendBuffer(keyframe())
    assert.equal(skipStats(pull)?.skipping, false, 'resumed at the keyframe')
    assert.ok(got > 0)
  })
})
