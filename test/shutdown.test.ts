import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  assertMonotonic,
  carrierOn,
  longestGap,
  type NodeProcess,
  play,
  playWsFlv,
  publish,
  type StreamsBody,
  TAG_VIDEO,
  waitFor,
  withCluster,
} from '@meshcast/testing'

async function json<T>(node: NodeProcess, path: string, accept = 'application/json'): Promise<T> {
  return (await (await fetch(`${node.httpUrl}${path}`, { headers: { accept } })).json()) as T
}

/** SIGTERM, and how the node exited and how long it took (ms). */
async function terminate(node: NodeProcess): Promise<{ code: number | null; ms: number; at: number }> {
  const at = Date.now()
  node.kill('SIGTERM')
  const exit = await node.exited
  return { code: exit.code, ms: Date.now() - at, at }
}

/** Waits until `origin` knows (from the adverts) that `edgeId` pulls `path` straight from it. */
async function pullsFrom(origin: NodeProcess, originId: string, edgeId: string, path: string): Promise<void> {
  await waitFor(
    async () => {
      const body = await json<StreamsBody>(origin, '/api/streams')
      const carriers = body.streams.find((s) => s.path === path)?.carriers ?? []
      return carriers.some((c) => c.node === edgeId && c.via[0] === originId) || undefined
    },
    { timeout: 15_000, what: 'the origin to know the edge pulls from it' },
  )
}

const logged = (node: NodeProcess, message: string) => node.records().find((r) => r.message === message)

describe('graceful shutdown (SIGTERM)', () => {
  test(
    'an origin tells its edges first: they switch to the other origin before it stops, and the player never notices',
    withCluster(async (cluster, t) => {
      const o1 = await cluster.start({ name: 'origin-1' })
      const o2 = await cluster.start({ name: 'origin-2' })
      const edge = await cluster.start({
        name: 'edge',
        cluster: { origins: [cluster.address(0), cluster.address(1)] },
      })
      const ids = new Map([
        [(await o1.status()).id, o1],
        [(await o2.status()).id, o2],
      ])
      // a redundant publish: the same stream published to both origins by two encoders
      const pubs = [
        await publish(`${o1.rtmpUrl}/live/drain`, { seconds: 120 }),
        await publish(`${o2.rtmpUrl}/live/drain`, { seconds: 120 }),
      ]
      t.after(() => Promise.all(pubs.map((p) => p.stop())))
      await waitFor(
        async () =>
          (await json<StreamsBody>(edge, '/api/streams')).streams[0]?.carriers.length === 3 || undefined,
        { timeout: 15_000, what: 'both origins advertising and the edge pulling' },
      )
      const { promise: underWay, resolve: started } = Promise.withResolvers<void>()
      const playing = play(`${edge.rtmpUrl}/live/drain`, {
        frames: 250,
        timeout: 40_000,
        onFrame: (f) => {
          if (f.n >= 75) started()
        },
      })
      await underWay
      const first = (await carrierOn(edge, '/live/drain'))?.via[0] as string
      const serving = ids.get(first) as NodeProcess
      const other = [...ids.keys()].find((id) => id !== first) as string
      const stopped = await terminate(serving)
      const p = await playing

      const around = p.frames.filter((f) => f.at > stopped.at - 1000 && f.at < stopped.at + stopped.ms + 2000)
      const gap = longestGap(around)
      process.stdout.write(
        `# SIGTERM of the serving origin: it exited in ${stopped.ms} ms; longest pause at the edge player ${gap} ms\n`,
      )
      assert.equal(stopped.code, 0, 'the origin exits 0')
      assert.ok(stopped.ms < 5000, `the origin took ${stopped.ms} ms`)
      assert.equal(
        p.code,
        0,
        `the player reached its 250 frames without a disconnect; ${p.stderr.slice(-600)}`,
      )
      assert.ok(p.frames.length >= 250, `${p.frames.length} frames`)
      assert.ok(
        p.frames.filter((f) => f.at > stopped.at).length > 100,
        'frames kept coming after the SIGTERM',
      )
      assert.ok(gap < 1000, `the longest pause around the switch was ${gap} ms`)
      assertMonotonic(p.frames)
      assert.equal(
        (await carrierOn(edge, '/live/drain'))?.via[0],
        other,
        "the edge's upstream is the other origin",
      )
      assert.ok(
        logged(serving, 'drained: no node pulls from this one') !== undefined,
        'the origin saw its edge switch before it left',
      )
      const metrics = await (await fetch(`${edge.httpUrl}/metrics`)).text()
      assert.match(metrics, /^meshcast_pull_failovers_total 1$/m)
    }),
  )

  test(
    'an edge with no other upstream does not hold the origin: it stops advertising the stream at once',
    withCluster(async (cluster, t) => {
      const origin = await cluster.start({ name: 'origin' })
      const edge = await cluster.start({ name: 'edge', cluster: { origins: [cluster.address(0)] } })
      const [originId, edgeId] = [(await origin.status()).id, (await edge.status()).id]
      const publisher = await publish(`${origin.rtmpUrl}/live/alone`, { seconds: 60 })
      t.after(() => publisher.stop())
      await pullsFrom(origin, originId, edgeId, '/live/alone')
      const stopped = await terminate(origin)
      const drained = logged(origin, 'drained: no node pulls from this one')
      process.stdout.write(
        `# origin, edge without alternative: drained in ${drained?.ms} ms, exited in ${stopped.ms} ms\n`,
      )
      assert.equal(stopped.code, 0)
      assert.ok(stopped.ms < 5000, `took ${stopped.ms} ms`)
      assert.ok(drained !== undefined && (drained.ms as number) < 1000, 'drained well before shutdown.drain')
    }),
  )

  test(
    'an edge refuses new players at once and leaves every view at once; it exits 0',
    withCluster(async (cluster) => {
      const origin = await cluster.start({ name: 'origin' })
      const edge = await cluster.start({ name: 'edge', cluster: { origins: [cluster.address(0)] } })
      const edgeId = (await edge.status()).id
      const members = async () => (await json<{ members: string[] }>(origin, '/api/view')).members
      await waitFor(async () => (await members()).length === 2 || undefined, {
        timeout: 10_000,
        what: 'one view',
      })
      const stopping = terminate(edge)
      const signalled = Date.now()
      const left = await waitFor(async () => ((await members()).includes(edgeId) ? undefined : Date.now()), {
        timeout: 5000,
        interval: 10,
        what: 'the edge gone from the view',
      })
      const ms = left - signalled
      const stopped = await stopping
      process.stdout.write(
        `# SIGTERM of an edge: exited in ${stopped.ms} ms, out of the view ${ms} ms after the signal\n`,
      )
      assert.equal(stopped.code, 0)
      assert.ok(stopped.ms < 5000, `the edge took ${stopped.ms} ms`)
      assert.ok(ms < 1000, `gone from the origin's view ${ms} ms after the signal`)
      assert.ok(logged(edge, 'draining: new players and publishers are refused') !== undefined)
    }),
  )

  test(
    'an edge with players keeps serving them through shutdown.drain while /cluster sends viewers elsewhere, then cuts them; one whose players leave goes at once',
    withCluster(async (cluster, t) => {
      const origin = await cluster.start({ name: 'origin' })
      const origins = [cluster.address(0)]
      const leaving = await cluster.start({
        name: 'edge-a',
        cluster: { origins },
        properties: { 'shutdown.drain': 2 },
      })
      const staying = await cluster.start({
        name: 'edge-b',
        cluster: { origins },
        properties: { 'shutdown.drain': 5 },
      })
      const leavingId = (await leaving.status()).id
      const publisher = await publish(`${origin.rtmpUrl}/live/held`, { seconds: 60 })
      t.after(() => publisher.stop())
      const wsUrl = (node: NodeProcess) => `${node.httpUrl.replace(/^http/, 'ws')}/live/held.flv`
      const video = (p: { tags: { type: number; at: number }[] }) =>
        p.tags.filter((tag) => tag.type === TAG_VIDEO)
      const player = await playWsFlv(wsUrl(leaving))
      t.after(() => player.close())
      await waitFor(() => video(player).length >= 25, { timeout: 15_000, what: 'video at the edge player' })

      const stopping = terminate(leaving)
      await waitFor(async () => (await json<{ draining: boolean }>(leaving, '/api/status')).draining, {
        timeout: 2000,
        interval: 20,
        what: 'the edge to be draining',
      })
      // the draining member's record reaches the origin in one heartbeat; after that, round-robin never names it
      const members = async () =>
        (await json<{ members: { id: string; data: Record<string, unknown> }[] }>(origin, '/api/members'))
          .members
      await waitFor(async () => (await members()).find((m) => m.id === leavingId)?.data.draining === true, {
        timeout: 2000,
        interval: 20,
        what: 'the origin to hear that the edge drains',
      })
      // round-robin over the others (the origin serves players too)
      for (let i = 0; i < 6; i++) {
        const routed = await json<{ nodeId: string }>(origin, '/cluster')
        assert.notEqual(routed.nodeId, leavingId, 'a draining edge is never handed out')
      }
      const stopped = await stopping
      const lastVideo = video(player).at(-1)?.at ?? 0
      process.stdout.write(
        `# an edge with a player (shutdown.drain=2): served it ${lastVideo - stopped.at} ms after SIGTERM, exited in ${stopped.ms} ms\n`,
      )
      assert.equal(stopped.code, 0)
      assert.ok(
        lastVideo - stopped.at > 1500,
        `the player got video ${lastVideo - stopped.at} ms into the drain`,
      )
      assert.ok(stopped.ms >= 2000 && stopped.ms < 5000, `the edge took ${stopped.ms} ms`)
      assert.ok(logged(leaving, 'drain over: players still watching are cut') !== undefined)
      await waitFor(() => player.closed !== null, {
        timeout: 5000,
        what: 'the cut player to see its socket close',
      })

      // its players leave during the drain: the edge goes then, not after shutdown.drain
      const second = await playWsFlv(wsUrl(staying))
      t.after(() => second.close())
      await waitFor(() => video(second).length >= 25, { timeout: 15_000, what: 'video at the second edge' })
      const going = terminate(staying)
      await waitFor(() => logged(staying, 'draining: waiting for players to leave'), {
        timeout: 5000,
        what: 'the edge to wait for its player',
      })
      second.close()
      const gone = await going
      assert.equal(gone.code, 0)
      assert.ok(gone.ms < 3000, `the edge whose player left took ${gone.ms} ms (shutdown.drain 5 s)`)
      assert.ok(logged(staying, 'drained: every player left') !== undefined)
    }),
  )

  test(
    'an edge that cannot answer does not hold the origin: shutdown.drain bounds the wait; meanwhile the origin is draining, refuses players and is not routed to',
    withCluster(async (cluster, t) => {
      const origin = await cluster.start({ name: 'origin', properties: { 'shutdown.drain': 2 } })
      const edge = await cluster.start({ name: 'edge', cluster: { origins: [cluster.address(0)] } })
      const [originId, edgeId] = [(await origin.status()).id, (await edge.status()).id]
      const publisher = await publish(`${origin.rtmpUrl}/live/held`, { seconds: 60 })
      t.after(() => publisher.stop())
      await pullsFrom(origin, originId, edgeId, '/live/held')
      // frozen: its advert keeps naming the origin as its upstream until it is suspected
      edge.kill('SIGSTOP')
      t.after(() => edge.kill('SIGCONT'))
      const stopping = terminate(origin)
      const status = await waitFor(
        async () => {
          const s = await json<{ draining: boolean; ready: boolean }>(origin, '/api/status')
          return s.draining ? s : undefined
        },
        { timeout: 2000, interval: 10, what: '/api/status to say draining' },
      )
      assert.equal(status.ready, false, 'not ready while shutting down')
      const routed = await json<{ nodeId: string }>(origin, '/cluster')
      assert.equal(routed.nodeId, edgeId, '/cluster names the node that stays')
      const flv = await fetch(`${origin.httpUrl}/live/held.flv`)
      assert.equal(flv.status, 503)
      assert.match(await flv.text(), /shutting down/)
      const refused = await play(`${origin.rtmpUrl}/live/held`, { frames: 10, timeout: 5000 })
      assert.equal(refused.frames.length, 0)
      assert.match(refused.stderr, /\/live\/held: this node is shutting down/)

      const stopped = await stopping
      process.stdout.write(`# origin with a frozen edge (shutdown.drain=2): exited in ${stopped.ms} ms\n`)
      assert.equal(stopped.code, 0)
      assert.ok(stopped.ms < 5000, `took ${stopped.ms} ms`)
      const timedOut = logged(origin, 'drain timed out; leaving anyway')
      assert.deepEqual(timedOut?.stillPulling, [edgeId])
    }),
  )
})
