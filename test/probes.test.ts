import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { type NodeProcess, publish, type StreamsBody, waitFor, withCluster } from '@meshcast/testing'

/** An application that throws when imported (the apps package's fixture). */
const BROKEN_APP = fileURLToPath(new URL('../packages/apps/test/fixtures/broken/index.ts', import.meta.url))

interface Probe {
  status: number
  cacheControl: string | null
  body: { status: string; reasons?: string[]; reason?: string }
}

async function probe(node: NodeProcess, path: '/healthz' | '/readyz'): Promise<Probe> {
  const res = await fetch(`${node.httpUrl}${path}`, { headers: { 'if-none-match': '*' } })
  return {
    status: res.status,
    cacheControl: res.headers.get('cache-control'),
    body: (await res.json()) as Probe['body'],
  }
}

describe('health probes (/healthz, /readyz)', () => {
  test(
    'an origin and its edge are alive and ready: 200 from both probes, never cached',
    withCluster(async (cluster) => {
      const origin = await cluster.start({ name: 'origin' })
      const edge = await cluster.start({ name: 'edge', cluster: { origins: [cluster.address(0)] } })
      for (const node of [origin, edge]) {
        const health = await probe(node, '/healthz')
        assert.deepEqual(health, { status: 200, cacheControl: 'no-store', body: { status: 'ok' } })
        const ready = await probe(node, '/readyz')
        assert.deepEqual(ready, { status: 200, cacheControl: 'no-store', body: { status: 'ready' } })
      }
    }),
  )

  test(
    'a node whose application failed is alive but not ready, and says which application',
    withCluster(async (cluster) => {
      const node = await cluster.start({ name: 'broken-app', properties: { 'app.broken': BROKEN_APP } })
      assert.equal((await probe(node, '/healthz')).status, 200)
      const ready = await probe(node, '/readyz')
      assert.equal(ready.status, 503)
      assert.equal(ready.body.status, 'not ready')
      assert.equal(ready.body.reasons?.length, 1)
      assert.match(ready.body.reasons?.[0] ?? '', /^app broken failed: .*broken at import$/)
    }),
  )

  test(
    'a draining origin is not ready (503 "draining") while it is still alive',
    withCluster(async (cluster, t) => {
      const origin = await cluster.start({ name: 'origin', properties: { 'shutdown.drain': 2 } })
      const edge = await cluster.start({ name: 'edge', cluster: { origins: [cluster.address(0)] } })
      const [originId, edgeId] = [(await origin.status()).id, (await edge.status()).id]
      const publisher = await publish(`${origin.rtmpUrl}/live/probed`, { seconds: 60 })
      t.after(() => publisher.stop())
      await waitFor(
        async () => {
          const body = (await (await fetch(`${origin.httpUrl}/api/streams`)).json()) as StreamsBody
          const carriers = body.streams.find((s) => s.path === '/live/probed')?.carriers ?? []
          return carriers.some((c) => c.node === edgeId && c.via[0] === originId) || undefined
        },
        { timeout: 15_000, what: 'the edge pulling from the origin' },
      )
      // frozen: its advert keeps naming the origin as its upstream, so the drain lasts shutdown.drain
      edge.kill('SIGSTOP')
      t.after(() => edge.kill('SIGCONT'))
      origin.kill('SIGTERM')
      const ready = await waitFor(
        async () => {
          const r = await probe(origin, '/readyz')
          return r.status === 503 ? r : undefined
        },
        { timeout: 2000, interval: 10, what: '/readyz to say 503' },
      )
      assert.deepEqual(ready.body, { status: 'not ready', reasons: ['draining'] })
      assert.equal(ready.cacheControl, 'no-store')
      assert.equal((await probe(origin, '/healthz')).status, 200, 'alive while draining')
      assert.equal((await origin.exited).code, 0)
    }),
  )
})
