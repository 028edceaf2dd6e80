import assert from 'node:assert/strict'
import { type IncomingHttpHeaders, request } from 'node:http'
import { describe, test } from 'node:test'
import { type NodeProcess, publish, waitFor, withCluster } from '@meshcast/testing'

interface StreamsBody {
  streams: {
    path: string
    publishedOn: { node: string; rtmpUrl: string }[]
    carriers: { node: string; source: string; video: string | null; audio: string | null }[]
  }[]
}

async function get(node: NodeProcess, path: string, accept = 'text/plain') {
  const res = await fetch(`${node.httpUrl}${path}`, { headers: { accept } })
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text() }
}

/**
 * A GET through node:http, as curl or a proxy sends it: fetch adds `Cache-Control: no-cache` to
 * a conditional request, which makes express skip its freshness check (no 304 to see).
 */
function rawGet(url: string, headers: Record<string, string>) {
  return new Promise<{ status: number; headers: IncomingHttpHeaders; body: string }>((resolve, reject) => {
    request(url, { headers }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        body += chunk
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
      res.on('error', reject)
    })
      .on('error', reject)
      .end()
  })
}

const streams = async (node: NodeProcess) => JSON.parse((await get(node, '/api/streams')).body) as StreamsBody

describe('stream adverts and routing', () => {
  test(
    'a publish on an origin is known on every node within a beat, and withdrawn when it ends',
    withCluster(async (cluster, t) => {
      const origin = await cluster.start()
      const edge = await cluster.start({ cluster: { origins: [cluster.address(0)] } })
      const originId = (await origin.status()).id
      const publisher = await publish(`${origin.rtmpUrl}/live/adverts`, { seconds: 60 })
      t.after(() => publisher.stop())
      const seen = await waitFor(
        async () => (await streams(edge)).streams.find((s) => s.path === '/live/adverts'),
        { timeout: 10_000, what: 'the edge to know of /live/adverts' },
      )
      assert.deepEqual(
        seen.publishedOn.map((p) => p.node),
        [originId],
      )
      assert.equal(seen.publishedOn[0]?.rtmpUrl, `rtmp://${cluster.address(0)}:1935/live/adverts`)
      const carrier = seen.carriers.find((c) => c.node === originId)
      assert.equal(carrier?.source, 'publish')
      await waitFor(
        async () => {
          const c = (await streams(edge)).streams[0]?.carriers.find((x) => x.node === originId)
          return c?.video === 'H264' && c.audio === 'AAC'
        },
        { timeout: 5000, what: 'codecs in the advert' },
      )
      await publisher.stop()
      await waitFor(
        async () =>
          (await streams(edge)).streams.every((s) => s.publishedOn.every((p) => p.node !== originId)),
        { timeout: 40_000, what: 'the advert withdrawn after the publisher stopped' },
      )
    }),
  )

  test(
    'GET /cluster rotates over public nodes, never names a private one, and answers JSON on request',
    withCluster(async (cluster) => {
      const origin = await cluster.start({ cluster: { privateInstance: true } })
      const e1 = await cluster.start({ cluster: { origins: [cluster.address(0)] } })
      await cluster.start({ cluster: { origins: [cluster.address(0)] } })
      await waitFor(async () => JSON.parse((await get(origin, '/api/view')).body).members.length === 3, {
        timeout: 15_000,
        what: 'one view of 3',
      })
      const answers = new Set<string>()
      for (let i = 0; i < 6; i++) {
        const r = await get(e1, '/cluster')
        assert.equal(r.status, 200)
        assert.match(r.type, /^text\/plain/)
        answers.add(r.body)
      }
      assert.deepEqual(answers, new Set([`${cluster.address(1)}:1935`, `${cluster.address(2)}:1935`]))
      const json = await get(origin, '/cluster', 'application/json')
      assert.match(json.type, /^application\/json/)
      const route = JSON.parse(json.body)
      assert.deepEqual(Object.keys(route).sort(), ['host', 'nodeId', 'port', 'role', 'rtmpUrl'])
      assert.equal(route.role, 'edge')
    }),
  )

  test(
    'round-robin answers and the JSON API are never cached: no ETag, no-store, 200 to a conditional request',
    withCluster(async (cluster) => {
      const origin = await cluster.start()
      await cluster.start({ cluster: { origins: [cluster.address(0)] } })
      await waitFor(async () => JSON.parse((await get(origin, '/api/view')).body).members.length === 2, {
        timeout: 15_000,
        what: 'one view of 2',
      })
      const dynamic: [path: string, accept: string][] = [
        ['/cluster', 'text/plain'],
        ['/cluster', 'application/json'],
        ['/cluster?stream=live/uncached', 'text/plain'],
        ['/cluster?stream=live/uncached', 'application/json'],
        ...['status', 'streams', 'view', 'members', 'apps', 'dashboard'].map((p): [string, string] => [
          `/api/${p}`,
          '*/*',
        ]),
        ['/metrics', '*/*'],
      ]
      // express 5 answers `If-None-Match: *` with 304 even when it sends no ETag (fresh 2.0.0)
      const conditions: Record<string, string>[] = [
        {},
        { 'if-none-match': '*' },
        { 'if-none-match': 'W/"12-inNWb52YfKpJzA6fFGNmvuXk6ZY", "x"' },
        { 'if-modified-since': new Date().toUTCString() },
      ]
      for (const [path, accept] of dynamic) {
        for (const condition of conditions) {
          const what = `${path} (${accept}) ${JSON.stringify(condition)}`
          const res = await rawGet(`${origin.httpUrl}${path}`, { accept, ...condition })
          assert.equal(res.status, 200, what)
          assert.equal(res.headers.etag, undefined, what)
          assert.equal(res.headers['cache-control'], 'no-store', what)
          assert.notEqual(res.body, '', what)
        }
      }
    }),
  )

  test(
    '?stream= routes to a node that has the stream; bad input is a 400 with a clear text',
    withCluster(async (cluster, t) => {
      const origin = await cluster.start()
      const edge = await cluster.start({ cluster: { origins: [cluster.address(0)] } })
      const publisher = await publish(`${origin.rtmpUrl}/live/routed`, { seconds: 60 })
      t.after(() => publisher.stop())
      await waitFor(async () => (await streams(edge)).streams.length > 0, {
        timeout: 10_000,
        what: 'the advert',
      })
      const r = await get(edge, '/cluster?stream=live/routed', 'application/json')
      assert.equal(r.status, 200)
      assert.equal(JSON.parse(r.body).rtmpUrl.endsWith('/live/routed'), true)
      for (const bad of ['live/../x', 'a%20b/c', 'nohandle', '<script>/x', 'live/cam.v2', 'live/a~b']) {
        const res = await get(edge, `/cluster?stream=${bad}`)
        assert.equal(res.status, 400, bad)
        assert.match(res.body, /bad stream/)
      }
      const twice = await get(edge, '/cluster?stream=live/a&stream=live/b')
      assert.equal(twice.status, 400)
    }),
  )
})
