// Who owns a relay and its feed: a MediaServer in this process pulling from
// a scripted RTMP upstream (fake-rtmp.ts), with node-media-server's RTMP
// client as a player.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { type Logger, RelayClosedError } from '@meshcast/interface'
import { MediaServer, type StreamInfo } from '../src/index.ts'
import { RtmpClient } from '../src/nms/nms.ts'
import type { PullRelay } from '../src/pull/relay.ts'
import { waitFor } from './fixtures/av.ts'
import { type FakeServer, fakeRtmpServer } from './fixtures/fake-rtmp.ts'

const HOST = '127.0.88.70'
const UPSTREAM_HOST = '127.0.88.71'
/** ms between the upstream's keyframes: media keeps flowing while a test runs */
const FRAME_MS = 40

let media: MediaServer
let upstream: FakeServer
const timers: ReturnType<typeof setInterval>[] = []
/** the `feed ended` lines logged */
const ended: { path: string; reason: string; was: string; kicked: number }[] = []

function recording(): Logger {
  const line = (message: string, fields?: Record<string, unknown>) => {
    if (message === 'feed ended') ended.push(fields as (typeof ended)[number])
  }
  const logger: Logger = { error: line, warn: line, info: line, debug: line, child: () => logger }
  return logger
}

function stream(path: string): StreamInfo | undefined {
  return media.streams().find((s) => s.path === path)
}

const endsOf = (path: string) => ended.filter((e) => e.path === path)

/** A relay of `path`, as the media server makes it (the test looks at its feed and its owner's news). */
function open(path: string): PullRelay {
  return media.relays().open(path) as PullRelay
}

/** An RTMP player of `path` on the media server, attached once this resolves. */
async function play(path: string): Promise<RtmpClient> {
  const client = new RtmpClient()
  await client.connect(`rtmp://${HOST}:1935${path}`)
  await client.sendConnect()
  await client.sendCreateStream()
  void client.sendPlay(path.split('/')[2] ?? '').catch(() => {})
  await waitFor('the player to attach', () => media.relays().subscribers(path) === 1)
  return client
}

before(async () => {
  media = new MediaServer({ rtmp: { host: HOST, port: 1935 } }, { logger: recording() })
  await media.start()
  upstream = await fakeRtmpServer(UPSTREAM_HOST, (c) =>
    c.onPlay(() => {
      c.playStart()
      c.headersAndKeyframe(0)
      let dts = 0
      const timer = setInterval(() => {
        dts += FRAME_MS
        if (c.socket.destroyed) clearInterval(timer)
        else c.keyframe(dts)
      }, FRAME_MS)
      timers.push(timer)
    }),
  )
})

after(async () => {
  for (const t of timers) clearInterval(t)
  await media.stop()
  await upstream.close()
})

describe('a relay and its feed', () => {
  test('a relay closed with nobody watching ends its feed once, and the path is free', async () => {
    const relay = open('/live/alone')
    assert.equal(relay.feed.state, 'idle')
    await relay.pull(upstream.url('/live/alone'))
    assert.equal(relay.feed.state, 'fed')
    assert.equal(stream('/live/alone')?.state, 'live')
    relay.close(false)
    relay.close(false)
    relay.close(true)
    assert.equal(relay.feed.state, 'released')
    assert.deepEqual(endsOf('/live/alone'), [
      { path: '/live/alone', reason: 'relay-closed', was: 'fed', kicked: 0 },
    ])
    assert.equal(stream('/live/alone'), undefined)
    open('/live/alone').close(false)
  })

  test('a pull on a closed relay rejects with RelayClosedError', async () => {
    const relay = open('/live/shut')
    relay.close(false)
    await assert.rejects(relay.pull(upstream.url('/live/shut')), (err: unknown) => {
      assert.ok(err instanceof RelayClosedError, String(err))
      assert.equal(err.path, '/live/shut')
      return true
    })
  })

  test('a relay closed while a player watches keeps its feed; the next relay adopts it; close(true) ends it and cuts the player', async () => {
    const first = open('/live/kept')
    await first.pull(upstream.url('/live/kept'))
    const player = await play('/live/kept')
    first.close(false)
    const { feed } = first
    assert.equal(feed.state, 'kept')
    assert.deepEqual(endsOf('/live/kept'), [])
    assert.deepEqual(
      { state: stream('/live/kept')?.state, subscribers: stream('/live/kept')?.subscribers },
      { state: 'idle', subscribers: 1 },
    )
    const second = open('/live/kept')
    assert.equal(second.feed, feed, 'the same feed: one timeline for the player')
    assert.equal(feed.state, 'fed')
    await second.pull(upstream.url('/live/kept'))
    assert.equal(stream('/live/kept')?.state, 'live')
    second.close(true)
    assert.equal(feed.state, 'released')
    assert.deepEqual(endsOf('/live/kept'), [
      { path: '/live/kept', reason: 'relay-closed', was: 'fed', kicked: 1 },
    ])
    await waitFor('the player to be cut', () => stream('/live/kept') === undefined)
    player.disconnect()
  })

  test('a kept feed ends when its last player leaves', async () => {
    const relay = open('/live/last')
    await relay.pull(upstream.url('/live/last'))
    const one = await play('/live/last')
    relay.close(false)
    assert.equal(relay.feed.state, 'kept')
    one.disconnect()
    await waitFor('the feed to end', () => relay.feed.state === 'released')
    assert.deepEqual(endsOf('/live/last'), [
      { path: '/live/last', reason: 'last-player-left', was: 'kept', kicked: 0 },
    ])
    await waitFor('the stream to go', () => stream('/live/last') === undefined)
  })

  test('a stand-in closed from outside ends its feed and closes its relay, which tells nothing back', async () => {
    const relay = open('/live/standin')
    await relay.pull(upstream.url('/live/standin'))
    const told: unknown[] = []
    relay.ownerEvents.on('@close', (e) => told.push(e))
    relay.feed.standIn.close()
    assert.equal(relay.feed.state, 'released')
    assert.equal(relay.upstream, null)
    assert.deepEqual(told, [])
    assert.deepEqual(
      endsOf('/live/standin').map((e) => e.reason),
      ['stand-in-closed'],
    )
    await assert.rejects(relay.pull(upstream.url('/live/standin')), RelayClosedError)
    // the owner forgot it: the path can be opened again
    open('/live/standin').close(false)
  })

  test('stopping the media server closes every relay without its @close and ends every feed, kept ones too', async () => {
    const live = open('/live/stop-a')
    await live.pull(upstream.url('/live/stop-a'))
    const kept = open('/live/stop-b')
    await kept.pull(upstream.url('/live/stop-b'))
    const player = await play('/live/stop-b')
    kept.close(false)
    const told: unknown[] = []
    live.ownerEvents.on('@close', (e) => told.push(e))
    await media.stop()
    assert.deepEqual(told, [], 'closeAll does not call back')
    assert.equal(live.upstream, null)
    await assert.rejects(live.pull(upstream.url('/live/stop-a')), RelayClosedError)
    assert.deepEqual(
      [...endsOf('/live/stop-a'), ...endsOf('/live/stop-b')].map((e) => [e.path, e.reason, e.kicked]),
      [
        ['/live/stop-a', 'closed-all', 0],
        ['/live/stop-b', 'closed-all', 1],
      ],
    )
    assert.deepEqual([live.feed.state, kept.feed.state], ['released', 'released'])
    player.disconnect()
    await media.start()
  })
})
