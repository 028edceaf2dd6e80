import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { StateHandlers } from '../src/index.ts'
import { AppHost, SoloCluster } from '../src/index.ts'
import { hostApps, type LogRecord, openSocket, probe, recordingLogger, selfMember, until } from './helpers.ts'

describe('the app host', () => {
  test('holds bus messages that arrive between load and start, then delivers them in order', async (t) => {
    const cluster = new SoloCluster(selfMember())
    const host = new AppHost(
      { apps: [probe('good')], role: 'standalone', clustered: false },
      { logger: recordingLogger([]), cluster },
    )
    t.after(() => host.stop())
    await host.load()
    // a listener after the host's own (subscribed at load): when it has all three, so has the host
    const arrived: unknown[] = []
    cluster.onMessage('app/good', (m) => arrived.push(m.data))
    for (const d of [1, 2, 3]) await cluster.send({ to: 'all' }, 'app/good', { c: 'ping', d })
    await until(() => arrived.length === 3, 'the pings at the host (the app has no handler yet)')
    await host.start()
    const [reply] = await cluster.invoke({ to: 'all' }, 'app/good/probe.pings', null)
    assert.deepEqual(reply, { node: cluster.id, ok: true, value: [1, 2, 3] })
  })

  test("keeps each app's channels, handlers and state names apart (app/<name>/…)", async (t) => {
    const stateNames: string[] = []
    class RecordingCluster extends SoloCluster {
      override registerState(name: string, handlers: StateHandlers): () => void {
        stateNames.push(name)
        return super.registerState(name, handlers)
      }
    }
    const cluster = new RecordingCluster(selfMember())
    const host = new AppHost(
      { apps: [probe('one'), probe('two')], role: 'standalone', clustered: false },
      { logger: recordingLogger([]), cluster },
    )
    t.after(() => host.stop())
    await host.start()
    assert.deepEqual(stateNames.sort(), ['app/one/pings', 'app/two/pings'])
    const [one] = await cluster.invoke({ to: 'all' }, 'app/one/probe.echo', 'to one')
    assert.deepEqual(one, { node: cluster.id, ok: true, value: 'to one' })
  })

  test('sends on an app channel reach that app only, and invoke finds its own handlers', async (t) => {
    const { get } = await hostApps(t, [probe('one'), probe('two')])
    assert.equal((await get('/one/send?data=a')).text, 'sent')
    await until(async () => (await get('/one/pings')).text === '["a"]', 'one to get its ping')
    assert.equal((await get('/two/pings')).text, '[]')
    const replies = JSON.parse((await get('/one/invoke-self')).text) as unknown[]
    assert.deepEqual(replies, [{ node: selfMember().id, ok: true, value: { hi: 'one' } }])
  })

  test('serves public/, redirects /<name> to /<name>/, and 404s what it does not have', async (t) => {
    const { get, url } = await hostApps(t, [probe('good')])
    assert.deepEqual(await get('/good/hello.txt'), { status: 200, text: 'a static file\n' })
    const redirect = await fetch(`${url}/good?x=1`, { redirect: 'manual' })
    assert.equal(redirect.status, 301)
    assert.equal(redirect.headers.get('location'), '/good/?x=1')
    assert.equal((await get('/good/missing')).status, 404)
    const ws = url.replace('http', 'ws')
    await assert.rejects(openSocket(`${ws}/good/nope`))
    await assert.rejects(openSocket(`${ws}/nobody/ws`))
  })

  test('stop calls the app once, then releases everything it registered', async (t) => {
    const { host, cluster, logs, get, url } = await hostApps(t, [probe('good')])
    const socket = await openSocket(`${url.replace('http', 'ws')}/good/ws`)
    const closed = new Promise<number>((resolve) => socket.addEventListener('close', (e) => resolve(e.code)))
    await host.stop()
    await host.stop()
    assert.equal(await closed, 1001)
    assert.equal(logs.filter((r: LogRecord) => r.message === 'probe stop called').length, 1)
    assert.equal(host.get('good')?.state, 'stopped')
    const [reply] = await cluster.invoke({ to: 'all' }, 'app/good/probe.echo', {})
    assert.equal(reply?.ok === false && reply.error.name, 'NoSuchMethodError')
    const page = await get('/good/hello')
    assert.equal(page.status, 503)
    assert.match(page.text, /application "good" is stopped/)
  })
})

describe('SoloCluster, the cluster of a standalone node', () => {
  test('delivers to itself what names it, through JSON, and nothing else', async () => {
    const cluster = new SoloCluster(selfMember('me'))
    const got: unknown[] = []
    cluster.onMessage('c', (m) => got.push([m.from, m.data]))
    await cluster.send({ to: 'all' }, 'c', { when: new Date(0) })
    await cluster.send({ to: 'node', id: 'me' }, 'c', 2)
    await cluster.send({ to: 'origins' }, 'c', 'not an origin')
    await cluster.send({ to: 'edges' }, 'c', 'not an edge')
    await cluster.send({ to: 'allBut', ids: ['me'] }, 'c', 'excluded')
    await cluster.send({ to: 'all' }, 'c', 'not to self', { self: false })
    // delivered in the order sent: once this last one is in, whatever came before it is too
    await cluster.send({ to: 'node', id: 'me' }, 'c', 'last')
    await until(() => got.length > 0 && (got.at(-1) as unknown[])[1] === 'last', 'the last message')
    assert.deepEqual(got, [
      ['me', { when: '1970-01-01T00:00:00.000Z' }],
      ['me', 2],
      ['me', 'last'],
    ])
    assert.deepEqual(
      cluster.view.members.map((m) => m.id),
      ['me'],
    )
    assert.equal(cluster.view.coordinator, 'me')
  })
})
