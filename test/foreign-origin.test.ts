import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  assertMonotonic,
  type Chromium,
  carrierOn,
  type FlvTag,
  longestGap,
  type NginxRtmp,
  type NodeProcess,
  play,
  playWsFlv,
  publish,
  TAG_VIDEO,
  waitFor,
  withChromium,
  withNginxRtmp,
} from '@meshcast/testing'

const until = (what: string, fn: () => Promise<unknown>, timeout = 15_000) =>
  waitFor(async () => ((await fn()) ? true : undefined), { timeout, what })

/** How /api/streams names a foreign origin in `via`. */
const foreignId = (n: NginxRtmp) => `rtmp://${n.host}:${n.port}`

const upstreamOf = async (node: NodeProcess, path: string) => (await carrierOn(node, path))?.via[0]

/** `/api/streams` entries as this test reads them (the shared helper types only some fields). */
interface ForeignStreams {
  streams: {
    path: string
    publishedOn: unknown[]
    foreignOrigins: { rtmpUrl: string }[]
    carriers: { node: string; upstream: { foreign: boolean; rtmpUrl: string | null } | null }[]
  }[]
}

const video = (tags: readonly FlvTag[]) => tags.filter((x) => x.type === TAG_VIDEO)

describe('foreign origins: edges front RTMP servers that are not meshcast nodes (nginx-rtmp)', () => {
  test(
    'an edge listing only an nginx-rtmp origin plays its stream over RTMP and HTTP-FLV, says the upstream is foreign, logs it once; an nginx pull relay repeats it from the edge',
    withNginxRtmp(async (cluster, nginx, t) => {
      const origin = await nginx.start()
      const retryS = 2
      const edge = await cluster.start({ cluster: { origins: [origin.host], retryDuration: retryS } })
      const edgeUp = Date.now()
      const edgeId = (await edge.status()).id
      const publisher = await publish(`${origin.rtmpUrl}/live/foreign`, { seconds: 120 })
      t.after(() => publisher.stop())

      const rtmp = await play(`${edge.rtmpUrl}/live/foreign`, { frames: 50, timeout: 20_000 })
      assert.ok(rtmp.frames.length >= 50, `${rtmp.frames.length} frames; ${rtmp.stderr.slice(-800)}`)
      assertMonotonic(rtmp.frames)
      const flv = await play(`${edge.httpUrl}/live/foreign.flv`, { frames: 25, timeout: 20_000 })
      assert.ok(flv.frames.length >= 25, `${flv.frames.length} frames; ${flv.stderr.slice(-800)}`)

      // /api/streams: fed from outside the mesh, published on none of its members
      assert.deepEqual((await carrierOn(edge, '/live/foreign'))?.via, [foreignId(origin)])
      const body = (await (await edge.httpGet('/api/streams')).json()) as ForeignStreams
      const stream = body.streams.find((s) => s.path === '/live/foreign')
      assert.deepEqual(stream?.publishedOn, [])
      assert.deepEqual(stream?.foreignOrigins, [{ rtmpUrl: `${origin.rtmpUrl}/live/foreign` }])
      assert.deepEqual(stream?.carriers.find((c) => c.node === edgeId)?.upstream, {
        foreign: true,
        node: null,
        rtmpUrl: `${origin.rtmpUrl}/live/foreign`,
      })
      // the dashboard's picture and event log
      const dash = (await (await edge.httpGet('/api/dashboard')).json()) as {
        snapshot: { streams: { path: string; carriers: { upstream: string | null }[] }[] }
        events: { text: string }[]
      }
      const shown = dash.snapshot.streams.find((s) => s.path === '/live/foreign')
      assert.deepEqual(
        shown?.carriers.map((c) => c.upstream),
        [foreignId(origin)],
      )
      await until('the dashboard event naming the foreign origin', async () => {
        const events = ((await (await edge.httpGet('/api/dashboard')).json()) as typeof dash).events
        return events.some((e) => e.text.includes(`/live/foreign from foreign origin ${origin.host}:1935`))
      })
      // /cluster routes a player to the edge that has it
      const route = (await (
        await fetch(`${edge.httpUrl}/cluster?stream=live/foreign`, {
          headers: { accept: 'application/json' },
        })
      ).json()) as { nodeId: string }
      assert.equal(route.nodeId, edgeId)

      // an nginx-rtmp pull relay in front of the meshcast edge
      const relay = await nginx.start({ pull: [`${edge.rtmpUrl}/live`] })
      const viaRelay = await play(`${relay.rtmpUrl}/live/foreign`, { frames: 25, timeout: 20_000 })
      assert.ok(
        viaRelay.frames.length >= 25,
        `${viaRelay.frames.length} frames; ${viaRelay.stderr.slice(-800)}`,
      )

      // Nothing more is said however often the mesh port is dialled again (every retryDuration).
      await until(
        'three mesh retries at the foreign origin',
        async () => Date.now() - edgeUp > 3 * retryS * 1000,
      )
      const records = edge.records()
      const meshAddress = `${origin.host}:7800`
      const connector = records.filter((r) => String(r.message).includes(meshAddress))
      assert.equal(connector.length, 1, JSON.stringify(connector))
      assert.equal(connector[0]?.level, 'info')
      assert.match(String(connector[0]?.message), /nothing listens for the mesh/)
      const foreignLine = records.filter((r) => /has no meshcast mesh/.test(String(r.message)))
      assert.equal(foreignLine.length, 1, JSON.stringify(foreignLine))
      assert.equal(foreignLine[0]?.level, 'info')
      assert.match(
        String(foreignLine[0]?.message),
        new RegExp(
          `origin ${origin.host.replaceAll('.', '\\.')}:1935 has no meshcast mesh; pulling from it over plain RTMP`,
        ),
      )
      const warnings = records.filter(
        (r) => (r.level === 'warn' || r.level === 'error') && JSON.stringify(r).includes(origin.host),
      )
      assert.deepEqual(warnings, [])
    }),
  )

  test(
    "the dashboard page tags the edge's upstream as foreign, with the nginx origin's address",
    withChromium((browser: Chromium, t) =>
      withNginxRtmp(async (cluster, nginx) => {
        const origin = await nginx.start()
        const edge = await cluster.start({ cluster: { origins: [origin.host] } })
        const publisher = await publish(`${origin.rtmpUrl}/live/tagged`, { seconds: 120 })
        t.after(() => publisher.stop())
        // one player starts the pull; with streamOnDemand false it stays
        const p = await play(`${edge.rtmpUrl}/live/tagged`, { frames: 5, timeout: 20_000 })
        assert.ok(p.frames.length >= 5, p.stderr.slice(-600))
        const page = await browser.newPage()
        await page.goto(`${edge.httpUrl}/`)
        const row = page.locator('#streams tbody tr', { hasText: '/live/tagged' })
        await waitFor(async () => (await row.locator('.tag.foreign').count()) === 1, {
          timeout: 15_000,
          what: 'the foreign tag in the streams table',
        })
        assert.match((await row.textContent()) ?? '', new RegExp(`foreign ${origin.host}:1935`))
      })(t),
    ),
  )

  test(
    'origins nginx, nginx, nginx, meshcast: an unpublish on the first, then a SIGKILL of each serving nginx, and kept players go on with no reconnect and timestamps never going back',
    withNginxRtmp(async (cluster, nginx, t) => {
      const meshOrigin = await cluster.start()
      const [n1, n2, n3] = [await nginx.start(), await nginx.start(), await nginx.start()]
      const edge = await cluster.start({
        cluster: { origins: [n1.host, n2.host, n3.host, cluster.address(0)] },
      })
      const meshId = (await meshOrigin.status()).id
      const pubs = [
        await publish(`${n1.rtmpUrl}/live/twice`, { seconds: 120 }),
        await publish(`${n2.rtmpUrl}/live/twice`, { seconds: 120 }),
        await publish(`${n3.rtmpUrl}/live/twice`, { seconds: 120 }),
        await publish(`${meshOrigin.rtmpUrl}/live/twice`, { seconds: 120 }),
      ]
      t.after(() => Promise.all(pubs.map((p) => p.stop())))
      // the meshcast origin's advert starts the pull; the list order puts the first nginx ahead of it
      await until(
        'the edge pulling from the first nginx',
        async () => (await upstreamOf(edge, '/live/twice')) === foreignId(n1),
      )
      const playing = play(`${edge.rtmpUrl}/live/twice`, { frames: 350, timeout: 40_000 })
      const ws = await playWsFlv(`${edge.httpUrl.replace(/^http/, 'ws')}/live/twice.flv`)
      t.after(() => ws.close())
      const videoSince = (at: number) => video(ws.tags).filter((x) => x.at > at).length
      await until('WS-FLV video from the first nginx', async () => videoSince(0) > 40)

      const kills: number[] = []
      for (const [end, next] of [
        [() => pubs[0]?.stop(), foreignId(n2)], // nginx says StreamEOF: unpublished
        [() => n2.kill('SIGKILL'), foreignId(n3)],
        [() => n3.kill('SIGKILL'), meshId],
      ] as const) {
        const at = Date.now()
        kills.push(at)
        await end()
        await until(
          `the edge pulling from ${next}`,
          async () => (await upstreamOf(edge, '/live/twice')) === next,
        )
        await until('WS-FLV video after the switch', async () => videoSince(at + 200) > 40)
      }

      const p = await playing
      assert.equal(ws.closed, null, 'the WS-FLV player stays connected')
      const tags = video(ws.tags)
      assert.ok(
        tags.every((x, i) => i === 0 || x.timestamp >= (tags[i - 1] as FlvTag).timestamp),
        'WS-FLV video timestamps never go back',
      )
      assert.ok(p.frames.length >= 350, `player got ${p.frames.length} frames; ${p.stderr.slice(-600)}`)
      assertMonotonic(p.frames)
      assert.doesNotMatch(p.stderr, /non-monotonic|Non-monotonous/i)
      for (const [i, at] of kills.entries()) {
        const gap = longestGap(p.frames.filter((f) => f.at > at - 500 && f.at < at + 1500))
        process.stdout.write(
          `# foreign failover ${i + 1} (${['unpublish', 'SIGKILL', 'SIGKILL'][i]}): longest pause at the kept RTMP player ${gap} ms\n`,
        )
        assert.ok(
          p.frames.some((f) => f.at > at + 200),
          `frames after switch ${i + 1}`,
        )
      }
      const counters = await (await edge.httpGet('/metrics')).text()
      assert.match(counters, /meshcast_pull_failovers_total 3\b/)
    }),
  )
})
