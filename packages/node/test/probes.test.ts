import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { AppInfo } from '@meshcast/apps'
import { LOOP_STUCK_MS, LoopWatch, notReadyReasons, type Readiness } from '../src/probes.ts'

const up = { rtmp: { up: true }, http: { up: true }, mesh: { up: true } }
const ready: Readiness = { listeners: up, mesh: 'joined', appsStarted: true, apps: [], draining: false }
const failed: AppInfo = {
  name: 'chatr',
  path: '/srv/chatr',
  state: 'failed',
  error: { name: 'Error', message: 'boom', during: 'start' },
  since: new Date(0).toISOString(),
  sockets: 0,
}

describe('notReadyReasons', () => {
  test('a joined node with its listeners up and its apps started is ready', () => {
    assert.deepEqual(notReadyReasons(ready), [])
    assert.deepEqual(notReadyReasons({ ...ready, mesh: null }), [], 'a standalone node has no mesh to join')
  })

  test('a starting node names what it still waits for', () => {
    const starting = {
      ...ready,
      listeners: { ...up, mesh: { up: false } },
      mesh: 'joining',
      appsStarted: false,
    }
    assert.deepEqual(notReadyReasons(starting), ['mesh listener not up', 'not joined', 'apps not started'])
  })

  test('a draining node says draining, not what it is taking down', () => {
    assert.deepEqual(notReadyReasons({ ...ready, draining: true, mesh: 'leaving', appsStarted: false }), [
      'draining',
    ])
  })

  test('a failed application makes the node not ready, with its error', () => {
    assert.deepEqual(notReadyReasons({ ...ready, apps: [failed] }), ['app chatr failed: boom'])
  })
})

describe('LoopWatch', () => {
  test('counts the time since its timer last turned', async () => {
    const watch = new LoopWatch()
    watch.start()
    try {
      assert.ok(watch.sinceLastTurn() < LOOP_STUCK_MS)
      assert.ok(watch.sinceLastTurn(Date.now() + LOOP_STUCK_MS + 1) > LOOP_STUCK_MS)
    } finally {
      watch.stop()
    }
  })
})
