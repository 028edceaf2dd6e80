import assert from 'node:assert/strict'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { FIXTURES, hostApps, type LogRecord, openSocket, probe, until } from './helpers.ts'

function failure(logs: LogRecord[], app: string): LogRecord | undefined {
  return logs.find((r) => r.level === 'error' && r.fields.app === app && /application failed/.test(r.message))
}

function stopCalls(logs: LogRecord[], app: string): number {
  return logs.filter((r) => r.fields.app === app && r.message === 'probe stop called').length
}

describe('an application that throws is logged and stopped; the others carry on', () => {
  test('at start: logged with its name, its stop() called, its routes 503', async (t) => {
    const { host, logs, get } = await hostApps(t, [probe('bad', 'start'), probe('good')])
    assert.equal(host.get('bad')?.state, 'failed')
    assert.equal(host.get('good')?.state, 'running')
    const record = failure(logs, 'bad')
    assert.equal(record?.fields.during, 'start')
    assert.equal(record?.fields.error, 'boom in start')
    assert.match(String(record?.fields.stack), /probe\/index\.ts/)
    assert.equal(stopCalls(logs, 'bad'), 1)
    const bad = await get('/bad/hello')
    assert.equal(bad.status, 503)
    assert.match(bad.text, /application "bad" failed and was stopped \(start\); the node's log says why/)
    assert.deepEqual(await get('/good/hello'), { status: 200, text: 'hello from good' })
    assert.deepEqual(host.list().find((a) => a.name === 'bad')?.error, {
      name: 'Error',
      message: 'boom in start',
      during: 'start',
    })
  })

  test('at start, by rejecting', async (t) => {
    const { host, logs } = await hostApps(t, [probe('bad', 'start-rejects'), probe('good')])
    assert.equal(host.get('bad')?.state, 'failed')
    assert.equal(failure(logs, 'bad')?.fields.error, 'boom in async start')
    assert.equal(host.get('good')?.state, 'running')
  })

  test('in a bus message handler: the other app still gets its messages', async (t) => {
    const { host, cluster, logs, get } = await hostApps(t, [probe('bad', 'message'), probe('good')])
    for (const app of ['bad', 'good']) await cluster.send({ to: 'all' }, `app/${app}`, { c: 'ping', d: 1 })
    await until(() => host.get('bad')?.state === 'failed', 'bad to fail')
    assert.match(String(failure(logs, 'bad')?.fields.during), /message on "ping"/)
    await cluster.send({ to: 'all' }, 'app/good', { c: 'ping', d: 2 })
    await until(async () => (await get('/good/pings')).text === '[1,2]', 'good to have both pings')
    assert.equal(host.get('good')?.state, 'running')
    assert.equal(stopCalls(logs, 'bad'), 1)
  })

  test('in an HTTP route, thrown or rejected: 500 once, then 503; the other app answers', async (t) => {
    const { host, logs, get } = await hostApps(t, [
      probe('sync', 'http'),
      probe('async', 'http-async'),
      probe('good'),
    ])
    for (const [app, path] of [
      ['sync', '/boom'],
      ['async', '/boom-async'],
    ] as const) {
      const first = await get(`/${app}${path}`)
      assert.equal(first.status, 500)
      assert.match(first.text, new RegExp(`application "${app}" failed on GET ${path}`))
      await until(() => host.get(app)?.state === 'failed', `${app} to fail`)
      assert.equal((await get(`/${app}/hello`)).status, 503)
      assert.equal(failure(logs, app)?.fields.during, `HTTP GET /${app}${path}`)
    }
    assert.deepEqual(await get('/good/hello'), { status: 200, text: 'hello from good' })
    assert.deepEqual(await get('/good/boom'), { status: 200, text: 'no boom' })
    assert.equal((await get('/good/nothing-here')).status, 404)
  })

  test('in a WebSocket handler: its sockets close with 1011; the other app keeps its own', async (t) => {
    const { host, url } = await hostApps(t, [probe('bad', 'ws'), probe('good')])
    const ws = url.replace('http', 'ws')
    const bad = await openSocket(`${ws}/bad/ws`)
    const good = await openSocket(`${ws}/good/ws`)
    const closed = new Promise<number>((resolve) => bad.addEventListener('close', (e) => resolve(e.code)))
    bad.send('hi')
    assert.equal(await closed, 1011)
    assert.equal(host.get('bad')?.state, 'failed')
    const echo = new Promise<string>((resolve) =>
      good.addEventListener('message', (e) => resolve(String(e.data))),
    )
    good.send('still here')
    assert.equal(await echo, 'echo:still here')
    good.close()
    // a failed app takes no new sockets: the upgrade is refused with its 503
    await assert.rejects(openSocket(`${ws}/bad/ws`))
  })

  test('in an invocation handler: the caller gets the error, and the app is stopped', async (t) => {
    const { host, cluster, logs } = await hostApps(t, [probe('bad', 'invoke'), probe('good')])
    const [bad] = await cluster.invoke({ to: 'all' }, 'app/bad/probe.echo', { x: 1 })
    assert.deepEqual(bad?.ok === false && bad.error, { name: 'Error', message: 'boom in an invocation' })
    await until(() => host.get('bad')?.state === 'failed', 'bad to fail')
    assert.equal(failure(logs, 'bad')?.fields.during, 'invocation probe.echo')
    // its handlers are gone; the other app's answer
    const [gone] = await cluster.invoke({ to: 'all' }, 'app/bad/probe.echo', {})
    assert.equal(gone?.ok === false && gone.error.name, 'NoSuchMethodError')
    const [good] = await cluster.invoke({ to: 'all' }, 'app/good/probe.echo', { x: 2 })
    assert.deepEqual(good?.ok === true && good.value, { x: 2 })
  })

  test('in a timer it set through its context', async (t) => {
    const { host, logs } = await hostApps(t, [probe('bad', 'timer'), probe('good')])
    await until(() => host.get('bad')?.state === 'failed', 'bad to fail')
    assert.equal(failure(logs, 'bad')?.fields.during, 'timer')
    assert.equal(host.get('good')?.state, 'running')
  })

  test('in a view listener', async (t) => {
    const { host, cluster } = await hostApps(t, [probe('bad', 'view'), probe('good')])
    cluster.events.emit('view', { view: cluster.view, joined: [], left: [], merged: false, others: [] })
    await until(() => host.get('bad')?.state === 'failed', 'bad to fail')
    assert.equal(host.get('good')?.state, 'running')
  })
})

describe('applications that cannot run', () => {
  test('a module that throws at import, one that is no application, one with no module: failed, not fatal', async (t) => {
    const { host, logs, get } = await hostApps(t, [
      { name: 'broken', path: join(FIXTURES, 'broken'), settings: {} },
      { name: 'plain', path: join(FIXTURES, 'not-an-app'), settings: {} },
      { name: 'empty', path: FIXTURES, settings: {} },
      probe('good'),
    ])
    const errors = Object.fromEntries(host.list().map((a) => [a.name, a.error]))
    assert.match(String(errors.broken?.message), /cannot import .*broken\/index\.ts: broken at import/)
    assert.match(String(errors.plain?.message), /is not an application: export start\(ctx\)/)
    assert.match(
      String(errors.empty?.message),
      /no module in .*fixtures: give it a package\.json "main" or one of index\.ts/,
    )
    for (const name of ['broken', 'plain', 'empty']) {
      assert.equal(host.get(name)?.state, 'failed')
      assert.equal(errors[name]?.name, 'AppLoadError')
      assert.equal(failure(logs, name)?.fields.during, 'load')
    }
    assert.equal((await get('/good/hello')).status, 200)
  })

  test('a start that never finishes fails after the start timeout', async (t) => {
    const { host } = await hostApps(
      t,
      [{ name: 'slow', path: join(FIXTURES, 'slow'), settings: {} }, probe('good')],
      {
        startTimeout: 100,
      },
    )
    assert.equal(host.get('slow')?.state, 'failed')
    assert.equal(host.get('slow')?.info().error?.name, 'AppTimeoutError')
    assert.equal(host.get('good')?.state, 'running')
  })
})
