import assert from 'node:assert/strict'
import { test } from 'node:test'
import { silentLogger } from '@meshcast/interface'
import { Lifecycle, type Phase, StopFailedError } from '../src/lifecycle.ts'

/** Phases that write what they do into `calls`; `fail` names a hook that throws. */
function phases(names: string[], calls: string[], fail: Record<string, string> = {}): Phase[] {
  const hook = (name: string, what: string) => () => {
    calls.push(`${what} ${name}`)
    if (fail[name] === what) throw new Error(`${what} ${name} failed`)
  }
  return names.map((name) => ({
    name,
    up: [`${name}-listener`],
    start: hook(name, 'start'),
    beforeStop: hook(name, 'beforeStop'),
    stop: hook(name, 'stop'),
  }))
}

test('phases start in order; a stop runs every beforeStop in that order, then the stops in reverse', async () => {
  const calls: string[] = []
  const life = new Lifecycle(phases(['a', 'b', 'c'], calls), silentLogger)
  await life.start()
  assert.deepEqual([...life.up], ['a-listener', 'b-listener', 'c-listener'])
  await life.stop()
  assert.deepEqual(calls, [
    'start a',
    'start b',
    'start c',
    'beforeStop a',
    'beforeStop b',
    'beforeStop c',
    'stop c',
    'stop b',
    'stop a',
  ])
  assert.equal(life.up.size, 0)
  await life.stop() // a second stop finds nothing begun
  assert.equal(calls.length, 9)
})

test('a start that throws stops what began (the part that threw too, which may be half up) and rethrows; later parts never start', async () => {
  const calls: string[] = []
  const life = new Lifecycle(phases(['a', 'b', 'c'], calls, { b: 'start' }), silentLogger)
  await assert.rejects(life.start(), /start b failed/)
  assert.deepEqual(calls, ['start a', 'start b', 'beforeStop a', 'beforeStop b', 'stop b', 'stop a'])
  assert.deepEqual([...life.up], [], 'the listener of the part that threw was never counted up')
})

test('a part whose stop throws does not keep the others from stopping; the stop then fails naming it', async () => {
  const calls: string[] = []
  const life = new Lifecycle(phases(['a', 'b', 'c'], calls, { b: 'stop', c: 'beforeStop' }), silentLogger)
  await life.start()
  const err = await life.stop().then(
    () => assert.fail('the stop should fail'),
    (e: unknown) => e,
  )
  assert.ok(err instanceof StopFailedError)
  assert.equal(err.message, 'stopping failed in c, b')
  assert.deepEqual(
    err.errors.map((e: Error) => e.message),
    ['beforeStop c failed', 'stop b failed'],
  )
  assert.deepEqual(calls.slice(3), [
    'beforeStop a',
    'beforeStop b',
    'beforeStop c',
    'stop c',
    'stop b',
    'stop a',
  ])
  assert.equal(life.up.size, 0)
})

test('parts may leave hooks out and be async', async () => {
  const calls: string[] = []
  const life = new Lifecycle(
    [
      { name: 'drain', beforeStop: async () => void calls.push('drain') },
      {
        name: 'server',
        start: async () => void calls.push('listen'),
        stop: async () => void calls.push('close'),
      },
    ],
    silentLogger,
  )
  await life.start()
  await life.stop()
  assert.deepEqual(calls, ['listen', 'drain', 'close'])
})
