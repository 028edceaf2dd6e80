import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { describe, test } from 'node:test'
import {
  assertMonotonic,
  carrierOn,
  type FrameInfo,
  longestGap,
  type NodeProcess,
  play,
  playWsFlv,
  publish,
  streamsOf,
  TAG_VIDEO,
  type TestCluster,
  waitFor,
  withCluster,
} from '@meshcast/testing'

const until = (what: string, fn: () => Promise<unknown>, timeout = 15_000) =>
  waitFor(async () => ((await fn()) ? true : undefined), { timeout, what })

/** Starts an origin (node 0) and an edge listing it, with cluster.xml/red5 extras for the edge. */
async function originAndEdge(
  cluster: TestCluster,
  edge: { cluster?: Record<string, unknown>; properties?: Record<string, string | number> } = {},
) {
  const origin = await cluster.start()
  const e = await cluster.start({
    cluster: { origins: [cluster.address(0)], ...edge.cluster },
    ...(edge.properties === undefined ? {} : { properties: edge.properties }),
  })
  return { origin, edge: e }
}

/** A window: an edge that pulls without players starts within a few hundred ms of hearing of a stream. */
const NO_PULL_WINDOW_MS = 1000
/** How long a player has been receiving before a fault: the gap across it is measured from 2 s before. */
const PLAYING_BEFORE_FAULT_MS = 2000

/**
 * Starts a player and resolves once it has been receiving for `PLAYING_BEFORE_FAULT_MS` (its
 * first frame to its latest), with its result to come; fails at once if it ends before.
 */
async function playUnderWay(url: string, opts: { frames: number; timeout: number }) {
  const frames: FrameInfo[] = []
  const playing = play(url, { ...opts, onFrame: (f) => frames.push(f) })
  const what = `the player to receive for ${PLAYING_BEFORE_FAULT_MS} ms`
  const ended = playing.then((p) => {
    throw new Error(`the player ended before ${what}: ${p.stderr.slice(-600)}`)
  })
  ended.catch(() => undefined)
  const span = () => (frames.at(-1)?.at ?? 0) - (frames[0]?.at ?? 0)
  await Promise.race([
    waitFor(() => frames.length > 0 && span() >= PLAYING_BEFORE_FAULT_MS, { timeout: 20_000, what }),
    ended,
  ])
  return { playing }
}

/** A counter or gauge of `/metrics`, by name and labels as written there (`{stream="/live/a"}`). */
async function metric(node: NodeProcess, series: string): Promise<number> {
  const text = await (await node.httpGet('/metrics')).text()
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return Number(line?.slice(series.length + 1) ?? 0)
}

/** The bound for a frozen serving origin: no worse than a dead one. */
const MAX_FREEZE_GAP_MS = 1000

/**
 * Two origins publishing `path` (one ffmpeg publisher each) and an edge
 * listing both; resolves once the edge pulls, with the origin it pulls from.
 */
async function twoOrigins(cluster: TestCluster, t: { after: (fn: () => unknown) => void }, path: string) {
  const o1 = await cluster.start()
  const o2 = await cluster.start()
  const edge = await cluster.start({ cluster: { origins: [cluster.address(0), cluster.address(1)] } })
  const ids = new Map([
    [(await o1.status()).id, o1],
    [(await o2.status()).id, o2],
  ])
  const pubs = [
    await publish(`${o1.rtmpUrl}${path}`, { seconds: 120 }),
    await publish(`${o2.rtmpUrl}${path}`, { seconds: 120 }),
  ]
  t.after(() => Promise.all(pubs.map((p) => p.stop())))
  const first = await waitFor(async () => (await carrierOn(edge, path))?.via[0], {
    timeout: 15_000,
    what: 'the edge pulling',
  })
  return { edge, first, serving: ids.get(first) as NodeProcess }
}

describe('the media plane: edges pull from origins over RTMP', () => {
  test(
    'an edge repeats a stream as soon as it is published; RTMP and HTTP-FLV players decode it',
    withCluster(async (cluster, t) => {
      const { origin, edge } = await originAndEdge(cluster)
      const publisher = await publish(`${origin.rtmpUrl}/live/repeat`, { seconds: 120 })
      t.after(() => publisher.stop())
      await until(
        'the edge to pull /live/repeat with nobody watching',
        async () => (await carrierOn(edge, '/live/repeat'))?.source === 'edge',
      )
      const rtmp = await play(`${edge.rtmpUrl}/live/repeat`, { frames: 50, timeout: 20_000 })
      assert.ok(rtmp.frames.length >= 50, `${rtmp.frames.length} frames; ${rtmp.stderr.slice(-800)}`)
      assertMonotonic(rtmp.frames)
      const flv = await play(`${edge.httpUrl}/live/repeat.flv`, { frames: 25, timeout: 20_000 })
      assert.ok(flv.frames.length >= 25, `${flv.frames.length} frames; ${flv.stderr.slice(-800)}`)
    }),
  )

  test(
    'on demand: the first player starts the pull, which ends edge.linger after the last player left',
    withCluster(async (cluster, t) => {
      const { origin, edge } = await originAndEdge(cluster, {
        cluster: { streamOnDemand: true },
        properties: { 'edge.linger': 2 },
      })
      const publisher = await publish(`${origin.rtmpUrl}/live/demand`, { seconds: 120 })
      t.after(() => publisher.stop())
      await until('the edge to hear of the stream', async () => (await streamsOf(edge)).streams.length > 0)
      // a window: nothing is to happen, so nothing can be awaited
      await new Promise((r) => setTimeout(r, NO_PULL_WINDOW_MS))
      assert.equal(await carrierOn(edge, '/live/demand'), undefined, 'no pull while nobody watches')
      const p = await play(`${edge.rtmpUrl}/live/demand`, { frames: 30, timeout: 20_000 })
      assert.ok(p.frames.length >= 30, `${p.frames.length} frames; ${p.stderr.slice(-800)}`)
      const left = Date.now()
      await until(
        'the pull to end after the linger',
        async () => (await carrierOn(edge, '/live/demand')) === undefined,
        10_000,
      )
      const lingered = Date.now() - left
      assert.ok(lingered >= 1500, `the pull lingered ${lingered} ms (edge.linger=2)`)
    }),
  )

  test(
    'a player that asks before the stream is published waits, and starts when it appears',
    withCluster(async (cluster, t) => {
      const { origin, edge } = await originAndEdge(cluster)
      const playing = play(`${edge.rtmpUrl}/live/early`, { frames: 30, timeout: 30_000 })
      await until(
        'the player waiting at the edge',
        async () => (await metric(edge, 'meshcast_subscribers{stream="/live/early"}')) >= 1,
      )
      const publisher = await publish(`${origin.rtmpUrl}/live/early`, { seconds: 120 })
      t.after(() => publisher.stop())
      const p = await playing
      assert.ok(p.frames.length >= 30, `${p.frames.length} frames; ${p.stderr.slice(-800)}`)
    }),
  )

  test(
    'two origins with the stream: SIGKILL of the serving one, and the player keeps receiving without reconnecting',
    withCluster(async (cluster, t) => {
      const { edge, first, serving } = await twoOrigins(cluster, t, '/live/twice')
      const { playing } = await playUnderWay(`${edge.rtmpUrl}/live/twice`, { frames: 250, timeout: 40_000 })
      // a browser-style player too: WS-FLV from the same edge, kept open across the switch
      const ws = await playWsFlv(`${edge.httpUrl.replace(/^http/, 'ws')}/live/twice.flv`)
      t.after(() => ws.close())
      await waitFor(() => ws.tags.some((x) => x.type === TAG_VIDEO), { what: 'WS-FLV video before the kill' })
      const killedAt = Date.now()
      serving.kill('SIGKILL')
      const p = await playing
      assert.equal(ws.closed, null, 'the WS-FLV player stays connected')
      const video = ws.tags.filter((x) => x.type === TAG_VIDEO)
      assert.ok(video.filter((x) => x.at > killedAt + 200).length > 50, 'WS-FLV video after the kill')
      for (let i = 1; i < video.length; i++) {
        const [a, b] = [video[i - 1]?.timestamp ?? 0, video[i]?.timestamp ?? 0]
        assert.ok(b >= a, `WS-FLV video tag ${i}: timestamp ${b} after ${a}`)
      }
      const after = p.frames.filter((f) => f.at > killedAt + 200)
      const gap = longestGap(p.frames.filter((f) => f.at > killedAt - 2000))
      process.stdout.write(`# failover: longest pause at the player across the kill ${gap} ms\n`)
      assert.ok(p.frames.length >= 250, `player got ${p.frames.length} frames; ${p.stderr.slice(-600)}`)
      assert.ok(after.length > 50, `frames after the kill: ${after.length}`)
      assertMonotonic(p.frames)
      assert.doesNotMatch(p.stderr, /non-monotonic|Non-monotonous/i)
      const now = await carrierOn(edge, '/live/twice')
      assert.notEqual(now?.via[0], first, 'the edge pulls from the other origin')
    }),
  )

  test(
    'the SIGSTOP failover test (origin frozen, alternative carrying the stream: gap < 1 s, player kept)',
    withCluster(async (cluster, t) => {
      const { edge, first, serving } = await twoOrigins(cluster, t, '/live/frozen')
      // a stopped process takes no SIGTERM: let it go on however the test ends
      t.after(() => serving.kill('SIGCONT'))
      const { playing } = await playUnderWay(`${edge.rtmpUrl}/live/frozen`, { frames: 250, timeout: 40_000 })
      const frozenAt = Date.now()
      serving.kill('SIGSTOP')
      const p = await playing.finally(() => serving.kill('SIGCONT'))
      const after = p.frames.filter((f) => f.at > frozenAt + 200)
      const gap = longestGap(p.frames.filter((f) => f.at > frozenAt - 2000))
      process.stdout.write(`# freeze: longest pause at the player across the SIGSTOP ${gap} ms\n`)
      assert.ok(p.frames.length >= 250, `player got ${p.frames.length} frames; ${p.stderr.slice(-600)}`)
      assert.ok(after.length > 50, `frames after the freeze: ${after.length}`)
      assert.ok(gap < MAX_FREEZE_GAP_MS, `the player paused ${gap} ms across the freeze`)
      assertMonotonic(p.frames)
      const now = await carrierOn(edge, '/live/frozen')
      assert.notEqual(now?.via[0], first, 'the edge pulls from the other origin')
    }),
  )

  test(
    'no alternative (retryDuration 30): the edge resumes within 5 s of the origin coming back and the stream being republished',
    withCluster(async (cluster, t) => {
      const { origin, edge } = await originAndEdge(cluster, { cluster: { retryDuration: 30 } })
      let publisher = await publish(`${origin.rtmpUrl}/live/back`, { seconds: 120 })
      t.after(() => publisher.stop())
      await until('the edge pulling', async () => (await carrierOn(edge, '/live/back')) !== undefined)
      const { playing } = await playUnderWay(`${edge.rtmpUrl}/live/back`, { frames: 10_000, timeout: 20_000 })
      const mark = edge.records().length
      origin.kill('SIGKILL')
      await publisher.stop()
      // the edge lost its upstream, has no other and now waits out retryDuration (after one quick retry)
      await until('the edge to wait retryDuration for an upstream', async () =>
        edge
          .records()
          .slice(mark)
          .some(
            (r) =>
              r.message === 'no upstream has the stream; retrying' &&
              r.path === '/live/back' &&
              r.inMs === 30_000,
          ),
      )
      const restarted = await cluster.restart(0)
      await until(
        'one view of 2 again',
        async () =>
          ((await (await fetch(`${edge.httpUrl}/api/view`)).json()) as { members: string[] }).members
            .length === 2,
      )
      const republishedAt = Date.now()
      publisher = await publish(`${restarted.rtmpUrl}/live/back`, { seconds: 120 })
      const p = await playing
      const resumed = p.frames.find((f) => f.at > republishedAt)
      assert.ok(resumed !== undefined, `no frame after the republish; ${p.stderr.slice(-600)}`)
      const ms = resumed.at - republishedAt
      process.stdout.write(`# resume after republish: first frame at the kept player after ${ms} ms\n`)
      assert.ok(ms < 5000, `resumed after ${ms} ms`)
      assertMonotonic(p.frames)
    }),
  )

  test(
    'an edge whose origin is unreachable at start reaches it on a later retry',
    withCluster(async (cluster, t) => {
      const edge = await cluster.start({
        cluster: { origins: [cluster.address(1)], retryDuration: 2 },
      })
      // a first attempt refused (nothing listens there yet): the origin is reached on a retry
      await until('the edge to find nothing at its origin', async () =>
        edge.records().some((r) => String(r.message).startsWith('nothing listens for the mesh at')),
      )
      const origin = await cluster.start()
      const publisher = await publish(`${origin.rtmpUrl}/live/later`, { seconds: 120 })
      t.after(() => publisher.stop())
      const p = await play(`${edge.rtmpUrl}/live/later`, { frames: 20, timeout: 30_000 })
      assert.ok(p.frames.length >= 20, `${p.frames.length} frames; ${p.stderr.slice(-800)}`)
    }),
  )

  test(
    'origin -> relay -> edge: the edge pulls through the relay it lists',
    withCluster(async (cluster, t) => {
      const origin = await cluster.start()
      const relay = await cluster.start({ cluster: { origins: [cluster.address(0)], nodeType: 'relay' } })
      const edge = await cluster.start({ cluster: { origins: [cluster.address(1)] } })
      const relayId = (await relay.status()).id
      const originId = (await origin.status()).id
      const publisher = await publish(`${origin.rtmpUrl}/live/chain`, { seconds: 120 })
      t.after(() => publisher.stop())
      await until(
        'the edge pulling through the relay',
        async () => (await carrierOn(edge, '/live/chain'))?.via[0] === relayId,
        20_000,
      )
      assert.deepEqual((await carrierOn(edge, '/live/chain'))?.via, [relayId, originId])
      const p = await play(`${edge.rtmpUrl}/live/chain`, { frames: 25, timeout: 20_000 })
      assert.ok(p.frames.length >= 25, `${p.frames.length} frames; ${p.stderr.slice(-800)}`)
    }),
  )

  test(
    'an edge of another password learns nothing and pulls nothing',
    withCluster(async (cluster, t) => {
      const origin = await cluster.start()
      const stranger = await cluster.start({
        cluster: { origins: [cluster.address(0)], password: `${cluster.password}-other` },
        properties: { 'edge.wait': 2 },
      })
      const publisher = await publish(`${origin.rtmpUrl}/live/secret`, { seconds: 120 })
      t.after(() => publisher.stop())
      await until('the stranger to be told the origin is not of its cluster', async () =>
        stranger.records().some((r) => /not of this cluster/.test(String(r.message))),
      )
      await until(
        'the origin to have advertised the stream',
        async () => (await streamsOf(origin)).streams.length > 0,
      )
      assert.deepEqual((await streamsOf(stranger)).streams, [])
      const p = await play(`${stranger.rtmpUrl}/live/secret`, { frames: 5, timeout: 8000 })
      assert.equal(p.frames.length, 0)
    }),
  )

  test(
    'a publish to an edge is refused with a clear status; garbage on the RTMP port ends that session only',
    withCluster(async (cluster, t) => {
      const { origin, edge } = await originAndEdge(cluster)
      const refused = await publish(`${edge.rtmpUrl}/live/wrongway`, { seconds: 5 })
      const code = await refused.exited
      assert.notEqual(code, 0)
      assert.match(refused.stderr, /publish to an origin/)
      const publisher = await publish(`${origin.rtmpUrl}/live/steady`, { seconds: 120 })
      t.after(() => publisher.stop())
      const playing = play(`${edge.rtmpUrl}/live/steady`, { frames: 100, timeout: 30_000 })
      for (const bytes of [
        Buffer.from([3]),
        Buffer.alloc(1537, 0xff),
        Buffer.from('GET / HTTP/1.0\r\n\r\n'),
      ]) {
        await new Promise<void>((resolve) => {
          const s = connect({ host: edge.host, port: 1935 }, () => s.end(bytes))
          s.on('error', () => resolve())
          s.on('close', () => resolve())
          s.setTimeout(3000, () => s.destroy())
        })
      }
      const p = await playing
      assert.ok(p.frames.length >= 100, `${p.frames.length} frames; ${p.stderr.slice(-600)}`)
      assert.equal((await edge.status()).ready, true)
    }),
  )
})
