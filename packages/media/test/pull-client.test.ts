import assert from 'node:assert/strict'
import net from 'node:net'
import { after, describe, test } from 'node:test'
import type { AVPacket } from '../src/nms/nms.ts'
import { PullClient, PullError } from '../src/pull/pull-client.ts'
import { type FakeConnection, type FakeServer, fakeRtmpServer, rawChunk } from './fixtures/fake-rtmp.ts'

const HOST = '127.0.88.60'

interface Pull {
  client: PullClient
  packets: { type: number; flags: number; dts: number }[]
  ends: PullError[]
  ended: Promise<PullError>
}

function pullClient(): Pull {
  const packets: Pull['packets'] = []
  const ends: PullError[] = []
  let onEnded: (e: PullError) => void = () => {}
  const ended = new Promise<PullError>((resolve) => {
    onEnded = resolve
  })
  const client = new PullClient({
    onPacket: (p: AVPacket) => packets.push({ type: p.codec_type, flags: p.flags, dts: p.dts }),
    onEnd: (e) => {
      ends.push(e)
      onEnded(e)
    },
  })
  return { client, packets, ends, ended }
}

async function rejection(p: Promise<unknown>): Promise<PullError> {
  try {
    await p
  } catch (err) {
    assert.ok(err instanceof PullError, `not a PullError: ${String(err)}`)
    return err
  }
  assert.fail('expected a rejection')
}

const servers: FakeServer[] = []
async function server(onConnection: (c: FakeConnection) => void): Promise<FakeServer> {
  const s = await fakeRtmpServer(HOST, onConnection)
  servers.push(s)
  return s
}

after(async () => {
  for (const s of servers) await s.close()
})

describe('PullClient', () => {
  test('headers and media that arrive with Play.Start reach the handler', async () => {
    const s = await server((c) =>
      c.onPlay(() => {
        // all in one burst, as an NMS origin sends its cache
        c.playStart()
        c.send(18, 5, 0, Buffer.from([2, 0, 10, ...Buffer.from('onMetaData'), 5]))
        c.headersAndKeyframe(1000)
      }),
    )
    const p = pullClient()
    await p.client.play(s.url(), 3000)
    await waitFor(() => p.packets.length >= 3)
    assert.deepEqual(
      p.packets.map((x) => [x.type, x.flags, x.dts]),
      [
        [18, 5, 0],
        [9, 2, 0],
        [9, 3, 1000],
      ],
    )
    p.client.close()
  })

  test('an IPv6 upstream is reached (rtmp://[::1]:port/...), and the play carries the pull mark', async () => {
    let played = ''
    const s = await fakeRtmpServer('::1', (c) =>
      c.onPlay((_name, sent) => {
        played = sent
        c.playStart()
        c.headersAndKeyframe(40)
      }),
    )
    servers.push(s)
    const p = pullClient()
    await p.client.play(s.url(), 3000)
    await waitFor(() => p.packets.length >= 2)
    assert.equal(played, 's?meshcast=pull')
    p.client.close()
  })

  test('StreamNotFound is "unpublished", Play.Failed is "error"', async () => {
    const s = await server((c) =>
      c.onPlay((name) =>
        c.status(name === 'gone' ? 'NetStream.Play.StreamNotFound' : 'NetStream.Play.Failed', 'error'),
      ),
    )
    const gone = await rejection(pullClient().client.play(s.url('/live/gone'), 3000))
    assert.equal(gone.reason, 'unpublished')
    assert.match(gone.message, /StreamNotFound/)
    const failed = await rejection(pullClient().client.play(s.url('/live/x'), 3000))
    assert.equal(failed.reason, 'error')
    assert.match(failed.message, /Play\.Failed/)
  })

  test('a server that says nothing is a timeout; one that hangs up is "closed"', async () => {
    const silent = net.createServer(() => {})
    await new Promise<void>((resolve) => silent.listen(0, HOST, resolve))
    const port = (silent.address() as net.AddressInfo).port
    const t0 = Date.now()
    const timeout = await rejection(pullClient().client.play(`rtmp://${HOST}:${port}/live/s`, 300))
    assert.equal(timeout.reason, 'timeout')
    assert.ok(Date.now() - t0 < 2000)
    silent.close()

    const rude = await server((c) => c.onPlay(() => c.socket.destroy()))
    assert.equal((await rejection(pullClient().client.play(rude.url(), 3000))).reason, 'closed')

    const refused = await rejection(pullClient().client.play(`rtmp://${HOST}:${port}/live/s`, 3000))
    assert.equal(refused.reason, 'closed')
    assert.match(refused.message, /ECONNREFUSED/)
  })

  test('StreamEOF after playing ends the pull once, as "unpublished"', async () => {
    const s = await server((c) =>
      c.onPlay(() => {
        c.playStart()
        c.headersAndKeyframe(0)
        setTimeout(() => {
          c.streamEof()
          setTimeout(() => c.socket.destroy(), 50) // then the close: still one end
        }, 100)
      }),
    )
    const p = pullClient()
    await p.client.play(s.url(), 3000)
    const end = await p.ended
    assert.equal(end.reason, 'unpublished')
    assert.match(end.message, /StreamEOF/)
    // both ends closed, and NMS's close handler (which calls onCloseCallback) has run
    await waitFor(() => p.client.socket === null && s.connections[0]?.socket.destroyed === true)
    assert.equal(p.ends.length, 1)
  })

  test('UnpublishNotify after playing is "unpublished"; a close by us reports nothing', async () => {
    const s = await server((c) =>
      c.onPlay((name) => {
        c.playStart()
        if (name === 'notify') setTimeout(() => c.status('NetStream.Play.UnpublishNotify'), 50)
      }),
    )
    const p = pullClient()
    await p.client.play(s.url('/live/notify'), 3000)
    assert.equal((await p.ended).reason, 'unpublished')

    const q = pullClient()
    await q.client.play(s.url('/live/quiet'), 3000)
    q.client.close()
    q.client.close()
    q.client.write(Buffer.from([1, 2, 3])) // never throws once the socket is gone
    // NMS's close handler (which calls onCloseCallback) has run
    await waitFor(() => q.client.socket === null)
    assert.equal(q.ends.length, 0)
  })

  test('bad bytes from the server end the pull with "error" instead of throwing', async () => {
    const s = await server((c) =>
      c.onPlay(() => {
        c.playStart()
        // an empty command message (NMS's AMF decoder throws on it), and a byte to make the parser go on
        setTimeout(() => c.socket.write(Buffer.concat([rawChunk(20, Buffer.alloc(0)), Buffer.from([2])])), 50)
      }),
    )
    const p = pullClient()
    await p.client.play(s.url(), 3000)
    const end = await p.ended
    assert.equal(end.reason, 'error')
    assert.match(end.message, /bad data from the server/)
  })

  test('the server window is acknowledged as media arrives (NMS sends none)', async () => {
    const s = await server((c) =>
      c.onPlay(() => {
        c.rtmp.sendWindowACK(10_000)
        c.playStart()
        c.headersAndKeyframe(0, 2000)
        // three bursts of 20 kB: three reads past the window
        for (let burst = 0; burst < 3; burst++) {
          setTimeout(() => {
            for (let i = 1; i <= 10; i++) c.keyframe((burst * 10 + i) * 40, 2000)
          }, burst * 50)
        }
      }),
    )
    const p = pullClient()
    await p.client.play(s.url(), 3000)
    await waitFor(() => p.packets.length >= 32)
    const conn = s.connections[0]
    await waitFor(() => (conn?.acks.length ?? 0) >= 3)
    const acks = conn?.acks ?? []
    for (let i = 1; i < acks.length; i++) assert.ok((acks[i] ?? 0) > (acks[i - 1] ?? 0))
    assert.ok((acks.at(-1) ?? 0) >= 60_000, `last ACK ${acks.at(-1)}`)
    p.client.close()
  })
})

/** How often waitFor looks at its condition. */
const POLL_MS = 10

async function waitFor(cond: () => boolean, ms = 3000): Promise<void> {
  const until = Date.now() + ms
  while (!cond()) {
    if (Date.now() > until) assert.fail('condition not met in time')
    await new Promise((r) => setTimeout(r, POLL_MS))
  }
}
