import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { OwnerTags } from '@meshcast/auth'
import {
  type NodeProcess,
  type Publisher,
  play,
  playHttpFlvTags,
  playWsFlv,
  publish,
  REPO_ROOT,
  RtmpClient,
  runCli,
  TAG_VIDEO,
  TestCluster,
  waitFor,
  withChromium,
  withNginxRtmp,
  writeConfDir,
} from '@meshcast/testing'

/** Every password and token of this file: none may appear in any node's log. */
const SECRETS = ['wonderland', 'builder', 'c4rol-pw', 'ann-pw', 'ben-pw', 'hang-pw', 'mc1.']

/** A bound, not a wait: an answer to publish or play comes at once; a server silent this long answers nothing. */
const ANSWER_BOUND_MS = 5000
/** A window: an accepted publish is advertised within ~20 ms and pulled by an edge well within a second. */
const REFUSED_STREAM_WINDOW_MS = 1000
/** A window within the edge's 30 s owner hold: the other user's copy is advertised (the careless edge took it) and must stay unpulled. */
const OWNER_AWAY_WINDOW_MS = 3000

/** What an RTMP client is told when it publishes or plays `name` (its query included). */
interface Attempt {
  code: string
  description: string
}

/** A raw RTMP publish or play of `name` on `url`'s app, with an optional connect argument. */
async function attempt(
  node: NodeProcess,
  action: 'publish' | 'play',
  name: string,
  opts: { app?: string; connectArgs?: Record<string, string> } = {},
): Promise<Attempt> {
  const c = new RtmpClient()
  let status: Attempt = { code: '(none)', description: '' }
  c.onStatusCallback = (code: string, info: Record<string, unknown>) => {
    status = { code, description: String(info.description ?? '') }
  }
  c.onErrorCallback = () => undefined
  const app = opts.app ?? 'live'
  try {
    await c.connect(`${node.rtmpUrl}/${encodeURIComponent(app)}/x`)
    if (opts.connectArgs === undefined) await c.sendConnect()
    else {
      // what sendConnect does first: the client chunks its commands at its own size
      c.setChunkSize((c as unknown as { outChunkSize: number }).outChunkSize)
      await c.sendCommand('connect', {
        cmdObj: { app, tcUrl: `${node.rtmpUrl}/${app}`, flashVer: 'FMLE/3.0', objectEncoding: 0 },
        args: opts.connectArgs,
      })
    }
    await c.sendCreateStream()
    const step = action === 'publish' ? c.sendPublish(name) : c.sendPlay(name)
    await Promise.race([step.catch(() => undefined), sleep(ANSWER_BOUND_MS)])
    return status
  } finally {
    c.disconnect()
  }
}

async function metric(node: NodeProcess, action: string, result: string): Promise<number> {
  const text = await (await node.httpGet('/metrics')).text()
  const m = new RegExp(`^meshcast_auth_total\\{action="${action}",result="${result}"\\} (\\d+)`, 'm').exec(
    text,
  )
  return Number(m?.[1] ?? 0)
}

async function streamsOn(node: NodeProcess): Promise<string[]> {
  const body = (await (await node.httpGet('/api/streams')).json()) as { streams: { path: string }[] }
  return body.streams.map((s) => s.path)
}

describe('stream authentication (Red5 Pro Simple Authentication, file validator)', () => {
  const cluster = new TestCluster()
  const dir = mkdtempSync(join(tmpdir(), 'meshcast-auth-test-'))
  const credentials = join(dir, 'simple-auth-plugin.credentials')
  let origin: NodeProcess
  let edge: NodeProcess
  const publishers: Publisher[] = []

  before(async () => {
    // bob's password hashed by `meshcast passwd`, as an operator would
    const bob = await runCli(['passwd', 'bob'], { input: 'builder\n' })
    assert.equal(bob.code, 0, bob.stderr)
    assert.match(bob.stdout, /^bob=\$scrypt\$ln=14,r=8,p=1\$/)
    writeFileSync(credentials, `# test users\nalice=wonderland\n${bob.stdout}`)
    const auth = { 'auth.publish': 'true', 'auth.play': 'true', 'auth.credentials': credentials }
    origin = await cluster.start({ name: 'origin', properties: auth })
    edge = await cluster.start({
      name: 'edge',
      cluster: { nodeType: 'edge', origins: [`${origin.host}:${origin.rtmpPort}`] },
      properties: { 'auth.play': 'true', 'auth.credentials': credentials },
    })
  })

  after(async () => {
    for (const p of publishers) await p.stop()
    await cluster.stopAll()
    rmSync(dir, { recursive: true, force: true })
  })

  /** A test whose failure prints every node's log. */
  function check(name: string, body: () => Promise<void>) {
    test(name, cluster.reporting(body))
  }

  check(
    'a publish without credentials or with a wrong password is rejected, and no edge pulls it',
    async () => {
      const none = await attempt(origin, 'publish', 'nocreds')
      assert.equal(none.code, 'NetStream.Publish.Rejected')
      assert.match(none.description, /authentication failed/)
      const wrong = await attempt(origin, 'publish', 'nocreds?username=alice&password=wrong')
      assert.equal(wrong.code, 'NetStream.Publish.Rejected')
      assert.ok((await metric(origin, 'publish', 'no-credentials')) >= 1)
      assert.ok((await metric(origin, 'publish', 'bad-credentials')) >= 1)
      const refused = origin.records().filter((r) => r.message === 'access refused: authentication failed')
      assert.ok(refused.length >= 1, 'a log line for the refusal')
      assert.match(JSON.stringify(refused[0]), /publish \/live\/nocreds.*127\./)
      await sleep(REFUSED_STREAM_WINDOW_MS)
      assert.ok(
        !(await streamsOn(origin)).includes('/live/nocreds'),
        'the refused stream exists on the origin',
      )
      assert.ok(!(await streamsOn(edge)).includes('/live/nocreds'), 'the edge pulled a refused stream')
    },
  )

  check(
    'credentials on the stream name (OBS) publish; the edge pulls with its token and plays to a player with credentials',
    async () => {
      publishers.push(
        await publish(`${origin.rtmpUrl}/live/show?username=alice&password=wonderland`, { seconds: 300 }),
      )
      await waitFor(async () => (await streamsOn(origin)).includes('/live/show'), {
        timeout: 15_000,
        what: 'the stream published with credentials',
      })
      const rtmp = await play(`${edge.rtmpUrl}/live/show?username=bob&password=builder`, {
        frames: 25,
        timeout: 20_000,
      })
      assert.ok(rtmp.frames.length >= 25, `RTMP from the edge: ${rtmp.frames.length} frames\n${rtmp.stderr}`)
      const flv = await playHttpFlvTags(`${edge.httpUrl}/live/show.flv?username=alice&password=wonderland`)
      try {
        await waitFor(() => flv.tags.filter((t) => t.type === TAG_VIDEO).length >= 10, {
          timeout: 10_000,
          what: 'HTTP-FLV video',
        })
      } finally {
        flv.close()
      }
      const basic = await fetch(`${edge.httpUrl}/live/show.flv`, {
        headers: { authorization: `Basic ${Buffer.from('bob:builder').toString('base64')}` },
      })
      assert.equal(basic.status, 200, 'Basic credentials')
      await basic.body?.cancel()
      assert.ok((await metric(origin, 'play', 'allowed')) >= 1, "the edge's pull was allowed on the origin")
    },
  )

  check('credentials on the application and as a connect argument publish too', async () => {
    publishers.push(
      await publish(`${origin.rtmpUrl}/live?username=bob&password=builder/appcreds`, { seconds: 300 }),
    )
    await waitFor(async () => (await streamsOn(origin)).includes('/live/appcreds'), {
      timeout: 15_000,
      what: 'the stream published with credentials on the application',
    })
    const byArgument = await attempt(origin, 'publish', 'argcreds', {
      connectArgs: { username: 'alice', password: 'wonderland' },
    })
    assert.equal(byArgument.code, 'NetStream.Publish.Start')
  })

  check(
    'players without credentials are refused on the origin and the edge: Play.Failed, HTTP 401, a wrong password 403; a false cluster-restreamer too',
    async () => {
      await waitFor(async () => (await streamsOn(origin)).includes('/live/show'), { timeout: 15_000 })
      for (const node of [origin, edge]) {
        const rtmp = await attempt(node, 'play', 'show')
        assert.equal(rtmp.code, 'NetStream.Play.Failed', `${node.name}: ${JSON.stringify(rtmp)}`)
        assert.match(rtmp.description, /authentication failed/)
        const none = await fetch(`${node.httpUrl}/live/show.flv`)
        assert.equal(none.status, 401)
        assert.match(none.headers.get('www-authenticate') ?? '', /^Basic /)
        await none.body?.cancel()
        const wrong = await fetch(`${node.httpUrl}/live/show.flv?username=alice&password=nope`)
        assert.equal(wrong.status, 403)
        await wrong.body?.cancel()
        const ws = await playWsFlv(`${node.httpUrl.replace(/^http/, 'ws')}/live/show.flv`).then(
          (p) => {
            p.close()
            return 'opened'
          },
          (err: Error) => err.message,
        )
        assert.notEqual(ws, 'opened', `${node.name}: WS-FLV without credentials`)
      }
      const stranger = await attempt(
        origin,
        'play',
        'show?meshcast=pull&username=cluster-restreamer&token=mc1.9999999999.AAAA',
      )
      assert.equal(stranger.code, 'NetStream.Play.Failed')
      const guessed = await attempt(origin, 'play', 'show?username=cluster-restreamer&password=guess')
      assert.equal(guessed.code, 'NetStream.Play.Failed')
    },
  )

  check('a changed credentials file takes effect without a restart', async () => {
    writeFileSync(credentials, 'carol=c4rol-pw\n')
    // a stat sees a change by its time: move it on, as a second save would
    const later = new Date(Date.now() + 5000)
    utimesSync(credentials, later, later)
    await waitFor(
      async () =>
        (await attempt(origin, 'publish', 'fresh?username=carol&password=c4rol-pw')).code ===
        'NetStream.Publish.Start',
      { timeout: 10_000, what: 'carol allowed after the file changed' },
    )
    const alice = await attempt(origin, 'publish', 'stale?username=alice&password=wonderland')
    assert.equal(alice.code, 'NetStream.Publish.Rejected', 'alice was removed from the file')
    assert.ok(origin.records().some((r) => r.message === 'credentials file read again'))
  })

  check('no credential appears in any log line of any node', async () => {
    for (const node of cluster.nodes) {
      const text = node
        .records()
        .map((r) => JSON.stringify(r))
        .join('\n')
      for (const secret of [...SECRETS, cluster.password])
        assert.ok(!text.includes(secret), `${node.name} logged ${JSON.stringify(secret)}`)
    }
  })
})

/** Where `node` pulls `path` from now (its upstream's RTMP URL), or null. */
async function upstreamOf(node: NodeProcess, path: string): Promise<string | null> {
  const { id } = await node.status()
  const body = (await (await node.httpGet('/api/streams')).json()) as {
    streams: { path: string; carriers: { node: string; upstream: { rtmpUrl: string | null } | null }[] }[]
  }
  const mine = body.streams.find((s) => s.path === path)?.carriers.find((c) => c.node === id)
  return mine?.upstream?.rtmpUrl ?? null
}

describe('stream ownership: an edge fails over only to a copy of the same publisher or group', () => {
  const cluster = new TestCluster()
  const dir = mkdtempSync(join(tmpdir(), 'meshcast-owner-test-'))
  const credentials = join(dir, 'simple-auth-plugin.credentials')
  const publishers: Publisher[] = []
  let origin1: NodeProcess
  let origin2: NodeProcess
  let edge: NodeProcess
  let careless: NodeProcess

  before(async () => {
    writeFileSync(credentials, 'ann=ann-pw\nben=ben-pw\ncy=c4rol-pw\n')
    const auth = {
      'auth.publish': 'true',
      'auth.credentials': credentials,
      // ann and cy publish the same show from two encoders; ben is a user of his own
      'auth.group.studio': 'ann,cy',
    }
    origin1 = await cluster.start({ name: 'origin1', properties: auth })
    origin2 = await cluster.start({ name: 'origin2', properties: auth })
    const edgeOf = (name: string, hold: string) =>
      cluster.start({
        name,
        cluster: { nodeType: 'edge', origins: [`${origin1.host}:${origin1.rtmpPort}`] },
        properties: { 'auth.owner_hold': hold },
      })
    edge = await edgeOf('edge', '30')
    // owners not looked at: what every edge did before (the takeover the hold prevents)
    careless = await edgeOf('careless-edge', '0')
  })

  after(async () => {
    for (const p of publishers) await p.stop()
    await cluster.stopAll()
    rmSync(dir, { recursive: true, force: true })
  })

  test(
    "another user's publish of the same name is passed over; the group's other encoder is taken",
    cluster.reporting(async () => {
      const ann = await publish(`${origin1.rtmpUrl}/live/owned?username=ann&password=ann-pw`, {
        seconds: 300,
      })
      publishers.push(ann)
      const players = [edge, careless].map((n) => playHttpFlvTags(`${n.httpUrl}/live/owned.flv`))
      const [watching, carelessWatching] = await Promise.all(players)
      if (watching === undefined || carelessWatching === undefined) throw new Error('no players')
      try {
        for (const node of [edge, careless])
          await waitFor(
            async () => (await upstreamOf(node, '/live/owned'))?.includes(origin1.host) === true,
            {
              timeout: 20_000,
              what: `${node.name} pulling from origin1`,
            },
          )
        // ben publishes the same name on the other origin: a valid user, but not the stream's publisher
        publishers.push(
          await publish(`${origin2.rtmpUrl}/live/owned?username=ben&password=ben-pw`, { seconds: 300 }),
        )
        await waitFor(
          () =>
            edge
              .records()
              .some((r) => r.message === 'a copy of the stream from another publisher is not pulled'),
          { timeout: 15_000, what: "the edge noticing ben's copy" },
        )
        await ann.stop()
        await waitFor(
          async () => (await upstreamOf(careless, '/live/owned'))?.includes(origin2.host) === true,
          {
            timeout: 15_000,
            what: "the careless edge switching to ben's copy (as before ownership)",
          },
        )
        await sleep(OWNER_AWAY_WINDOW_MS)
        assert.equal(
          await upstreamOf(edge, '/live/owned'),
          null,
          'the edge pulls nothing while the owner is away',
        )
        const framesBefore = watching.tags.filter((t) => t.type === TAG_VIDEO).length
        assert.equal(watching.ended, null, 'the player stays, waiting')
        // cy, the studio's second encoder, takes over the name on origin1
        publishers.push(
          await publish(`${origin1.rtmpUrl}/live/owned?username=cy&password=c4rol-pw`, { seconds: 300 }),
        )
        await waitFor(async () => (await upstreamOf(edge, '/live/owned'))?.includes(origin1.host) === true, {
          timeout: 20_000,
          what: "the edge pulling cy's copy",
        })
        await waitFor(() => watching.tags.filter((t) => t.type === TAG_VIDEO).length >= framesBefore + 25, {
          timeout: 15_000,
          what: "the edge's player getting cy's picture",
        })
        const pulledFrom = edge
          .records()
          .filter((r) => r.message === 'pulling stream' || r.message === 'switched upstream')
          .map((r) => String(r.url))
        assert.ok(
          pulledFrom.every((u) => u.includes(origin1.host)),
          `the edge pulled only from origin1: ${pulledFrom.join(', ')}`,
        )
        const metrics = await (await edge.httpGet('/metrics')).text()
        assert.match(metrics, /^meshcast_pull_ignored_copies_total [1-9]/m)
        const streams = (await (await edge.httpGet('/api/streams')).json()) as {
          streams: { path: string; publishedOn: { owner: string | null }[] }[]
        }
        const owners = streams.streams.find((s) => s.path === '/live/owned')?.publishedOn.map((p) => p.owner)
        // tags, not names: ben's own, and the studio group's for cy (a tag may hold "cy" by chance)
        const tags = new OwnerTags(cluster.password, [{ name: 'studio', users: ['ann', 'cy'] }])
        assert.deepEqual(
          [...(owners ?? [])].sort(),
          [tags.of('ben'), tags.of('cy')].sort(),
          `owners ${owners}`,
        )
        assert.notEqual(tags.of('ben'), tags.of('cy'))
        for (const node of cluster.nodes) {
          const text = node
            .records()
            .map((r) => JSON.stringify(r))
            .join('\n')
          for (const secret of ['ann-pw', 'ben-pw', 'c4rol-pw', cluster.password])
            assert.ok(!text.includes(secret), `${node.name} logged ${JSON.stringify(secret)}`)
        }
      } finally {
        watching.close()
        carelessWatching.close()
      }
    }),
  )
})

describe('stream authentication (roundtrip validator)', () => {
  const cluster = new TestCluster()
  let node: NodeProcess
  let server: Server
  const asked: Record<string, unknown>[] = []

  before(async () => {
    server = createServer(async (req, res) => {
      let text = ''
      for await (const chunk of req) text += chunk
      if (req.method !== 'POST') return res.writeHead(405).end()
      const body = JSON.parse(text) as Record<string, unknown>
      asked.push(body)
      if (body.username === 'hang') return // never answers
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ result: body.username === 'ann' && body.password === 'ann-pw' }))
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/validate`
    node = await cluster.start({
      name: 'origin',
      properties: {
        'auth.publish': 'true',
        'auth.validator': 'roundtrip',
        'auth.roundtrip.url': url,
        'auth.roundtrip.timeout': 1000,
      },
    })
  })

  after(async () => {
    await cluster.stopAll()
    server.closeAllConnections()
    server.close()
  })

  test('allows the user the endpoint allows, refuses the one it refuses, and a hanging endpoint after its timeout', async () => {
    const ann = await attempt(node, 'publish', 'rt?username=ann&password=ann-pw&token=t1')
    assert.equal(ann.code, 'NetStream.Publish.Start')
    const { clientIp, ...rest } = asked[0] ?? {}
    assert.deepEqual(rest, {
      type: 'publisher',
      username: 'ann',
      password: 'ann-pw',
      token: 't1',
      streamName: 'rt',
      app: 'live',
    })
    assert.match(String(clientIp), /^127\./)
    const ben = await attempt(node, 'publish', 'rt2?username=ben&password=ben-pw')
    assert.equal(ben.code, 'NetStream.Publish.Rejected')
    const started = Date.now()
    const hang = await attempt(node, 'publish', 'rt3?username=hang&password=hang-pw')
    const took = Date.now() - started
    assert.equal(hang.code, 'NetStream.Publish.Rejected')
    assert.ok(took >= 900, `refused after ${took} ms, before the 1000 ms timeout`)
    assert.ok(await metric(node, 'publish', 'validator-failed'), 'the timeout counted')
    const text = node
      .records()
      .map((r) => JSON.stringify(r))
      .join('\n')
    for (const secret of SECRETS) assert.ok(!text.includes(secret), `logged ${secret}`)
  })
})

describe('an edge in front of a foreign origin that checks its players (nginx-rtmp on_play)', () => {
  test(
    'the edge sends the credentials configured for that origin (auth.origin.<name>.*), and is refused without them',
    withNginxRtmp(async (cluster, nginx, t) => {
      const asked: Record<string, string>[] = []
      // nginx-rtmp posts the play's form, its name's query arguments included; a non-2xx refuses the play
      const hook = createServer(async (req, res) => {
        let text = ''
        for await (const chunk of req) text += chunk
        const form = Object.fromEntries(new URLSearchParams(text))
        asked.push(form)
        const ok = form.username === 'edge-user' && form.password === 'origin-pw'
        res.writeHead(ok ? 200 : 403).end()
      })
      await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r))
      t.after(() => {
        hook.closeAllConnections()
        hook.close()
      })
      const port = (hook.address() as AddressInfo).port
      const origin = await nginx.start({ directives: [`on_play http://127.0.0.1:${port}/on_play;`] })
      const publisher = await publish(`${origin.rtmpUrl}/live/guarded`, { seconds: 120 })
      t.after(() => publisher.stop())
      const edge = await cluster.start({
        cluster: { origins: [origin.host], retryDuration: 2 },
        properties: {
          'auth.origin.nginx.address': `${origin.host}:${origin.port}`,
          'auth.origin.nginx.username': 'edge-user',
          'auth.origin.nginx.password': 'origin-pw',
        },
      })
      const played = await play(`${edge.rtmpUrl}/live/guarded`, { frames: 25, timeout: 20_000 })
      assert.ok(played.frames.length >= 25, `${played.frames.length} frames; ${played.stderr.slice(-500)}`)
      assert.ok(
        asked.some((f) => f.username === 'edge-user' && f.meshcast === 'pull'),
        JSON.stringify(asked),
      )
      // an edge that knows no credentials for it is refused by the hook
      const stranger = await cluster.start({ cluster: { origins: [origin.host], retryDuration: 2 } })
      const refused = await play(`${stranger.rtmpUrl}/live/guarded`, { frames: 5, timeout: 6000 })
      assert.equal(refused.frames.length, 0, 'an edge without the credentials played the stream')
      assert.ok(
        asked.some((f) => f.username === 'cluster-restreamer'),
        'the stranger edge asked with its token',
      )
      const text = edge
        .records()
        .map((r) => JSON.stringify(r))
        .join('\n')
      assert.ok(!text.includes('origin-pw'), 'the origin password was logged')
    }),
  )
})

describe('the control plane (http.admin.token)', () => {
  const TOKEN = 'admin-token-0123456789abcdef'
  const cluster = new TestCluster()
  let node: NodeProcess
  const bearer = { authorization: `Bearer ${TOKEN}` }
  const basic = { authorization: `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}` }

  const apart = new TestCluster()
  let behind: NodeProcess
  const ADMIN_PORT = 5090

  before(async () => {
    node = await cluster.start({ name: 'origin', properties: { 'http.admin.token': TOKEN } })
    // its control plane on a listener of its own (its own loopback address: no other test's), in a cluster of its own
    behind = await apart.start({
      name: 'admin-listener',
      properties: { 'http.admin.token': TOKEN, 'admin.host': apart.address(0), 'admin.port': ADMIN_PORT },
    })
  })
  after(async () => {
    await cluster.stopAll()
    await apart.stopAll()
  })

  const get = (path: string, headers: Record<string, string> = {}) =>
    fetch(`${node.httpUrl}${path}`, { headers }).then(async (r) => ({
      status: r.status,
      r,
      body: await r.text(),
    }))

  test(
    '/api/*, /metrics and the dashboard ask for the token (Bearer or Basic); /cluster, probes and /api/status stay open',
    cluster.reporting(async () => {
      for (const path of ['/metrics', '/api/streams', '/api/members', '/api/apps', '/api/dashboard', '/']) {
        const none = await get(path)
        assert.equal(none.status, 401, path)
        assert.match(none.r.headers.get('www-authenticate') ?? '', /^Basic realm="meshcast admin"/)
        assert.equal((await get(path, { authorization: 'Bearer wrong-token-0123456789' })).status, 401, path)
        assert.equal((await get(path, bearer)).status, 200, `${path} with the token`)
        assert.equal((await get(path, basic)).status, 200, `${path} with Basic`)
      }
      for (const path of ['/cluster', '/healthz', '/readyz'])
        assert.equal((await get(path)).status, 200, path)
      const open = JSON.parse((await get('/api/status')).body) as Record<string, unknown>
      assert.deepEqual(
        Object.keys(open).sort(),
        ['draining', 'ready'],
        'nothing but readiness without the token',
      )
      const full = JSON.parse((await get('/api/status', bearer)).body) as Record<string, unknown>
      assert.equal(typeof full.id, 'string')
      const metrics = (await get('/metrics', bearer)).body
      assert.match(metrics, /meshcast_http_refused_total\{kind="admin-auth"\} [1-9]/)
      const text = node
        .records()
        .map((r) => JSON.stringify(r))
        .join('\n')
      assert.ok(!text.includes(TOKEN), 'the token was logged')
    }),
  )

  test(
    'with admin.port the control plane answers on the admin listener only; the public port says 404 for it',
    apart.reporting(async () => {
      const adminUrl = `http://${behind.host}:${ADMIN_PORT}`
      const at = (base: string, path: string, headers: Record<string, string> = {}) =>
        fetch(`${base}${path}`, { headers }).then(async (r) => ({ status: r.status, body: await r.text() }))
      for (const path of ['/metrics', '/api/streams', '/api/members', '/api/dashboard', '/']) {
        const pub = await at(behind.httpUrl, path, bearer)
        assert.equal(pub.status, 404, `${path} on the public port, even with the token`)
        assert.match(pub.body, /admin listener/)
        assert.equal(
          (await at(adminUrl, path)).status,
          401,
          `${path} on the admin listener without the token`,
        )
        assert.equal((await at(adminUrl, path, bearer)).status, 200, `${path} on the admin listener`)
      }
      for (const path of ['/cluster', '/healthz', '/readyz', '/api/status'])
        assert.equal((await at(behind.httpUrl, path)).status, 200, `${path} on the public port`)
      const status = JSON.parse((await at(adminUrl, '/api/status', bearer)).body) as {
        listeners: Record<string, { address: string; up: boolean }>
      }
      assert.deepEqual(status.listeners.admin, { address: `${behind.host}:${ADMIN_PORT}`, up: true })
      const check = await runCli(['check', '--conf', behind.conf])
      assert.match(
        check.stdout,
        new RegExp(`controlPlane: on the admin listener ${behind.host}:${ADMIN_PORT} only`),
      )
    }),
  )

  test(
    'the dashboard works in a browser that sends the token as Basic credentials',
    withChromium(async (browser) => {
      const page = await browser.newPage()
      await page.setExtraHTTPHeaders(basic)
      await page.goto(`${node.httpUrl}/`)
      await waitFor(async () => (await page.locator('#members tbody tr').count()) === 1, {
        timeout: 15_000,
        what: 'the member listed over the event stream',
      })
      assert.match((await page.locator('#link').textContent()) ?? '', /live/)
    }),
  )
})

describe('defaults that do not hurt', () => {
  test('meshcast check warns of the default password and mDNS, and reports what is open', async () => {
    const r = await runCli(['check', '--conf', join(REPO_ROOT, 'conf')])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stderr, /warning: the cluster password is the default "changeme"/)
    assert.match(r.stderr, /warning: mDNS is on with the default password/)
    assert.match(r.stdout, /^security:\n {2}mesh: encrypted/m)
    assert.match(r.stdout, /publish: open: anyone who reaches the RTMP port/)
    assert.match(r.stdout, /controlPlane: open/)
    assert.match(r.stdout, /ownership: none: streams published here own nothing/)
  })

  test('a malformed credentials file stops check (and start) with its file and line, never its passwords', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshcast-auth-check-'))
    const file = join(dir, 'users.credentials')
    writeFileSync(file, 'alice=secret-one\nalice=secret-two\nbob=\n')
    const conf = writeConfDir({ password: 'x' }, { 'auth.publish': 'true', 'auth.credentials': file })
    try {
      const r = await runCli(['check', '--conf', conf])
      assert.equal(r.code, 1)
      assert.match(r.stderr, new RegExp(`${file}:2: property "alice"`))
      assert.match(r.stderr, new RegExp(`${file}:3: property "bob"`))
      assert.doesNotMatch(r.stderr, /secret-one|secret-two/)
      const missing = writeConfDir({ password: 'x' }, { 'auth.play': 'true' })
      const m = await runCli(['check', '--conf', missing])
      assert.equal(m.code, 1)
      assert.match(m.stderr, /simple-auth-plugin\.credentials: does not exist/)
      rmSync(missing, { recursive: true, force: true })
    } finally {
      rmSync(dir, { recursive: true, force: true })
      rmSync(conf, { recursive: true, force: true })
    }
  })
})
