import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { nodeStatus } from '../src/status.ts'

describe('nodeStatus', () => {
  const base = {
    id: 'abc',
    role: 'origin' as const,
    version: '0.1.0',
    startedAt: Date.parse('2026-01-01T00:00:00Z'),
    listeners: { rtmp: { host: '127.0.0.2', port: 1935 }, http: { host: '::1', port: 5080 } },
  }

  test('is ready only once every listener is up', () => {
    const partly = nodeStatus({ ...base, up: new Set(['rtmp']) }, base.startedAt + 1500)
    assert.equal(partly.ready, false)
    assert.deepEqual(partly.listeners, {
      rtmp: { address: '127.0.0.2:1935', up: true },
      http: { address: '[::1]:5080', up: false },
    })
    assert.equal(partly.uptime, 1.5)
    const all = nodeStatus({ ...base, up: new Set(['rtmp', 'http']) })
    assert.equal(all.ready, true)
    assert.equal(all.startedAt, '2026-01-01T00:00:00.000Z')
  })
})
