import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { DEFAULT_HEARTBEAT_INTERVAL, DEFAULT_SUSPECT_AFTER, type MeshInit, settings } from '../src/options.ts'

const base: MeshInit = {
  password: 'p',
  host: '10.0.0.1',
  port: 7800,
  self: {
    role: 'edge',
    publicIp: '10.0.0.1',
    publicPort: 1935,
    http: '10.0.0.1:5080',
    privateInstance: false,
  },
}

describe('mesh timing profiles', () => {
  test('lan is the defaults; wan judges silence over 5 s of 1 s beats; an explicit option wins over either', () => {
    const lan = settings(base)
    assert.equal(lan.profile, 'lan')
    assert.equal(lan.heartbeatInterval, DEFAULT_HEARTBEAT_INTERVAL)
    assert.equal(lan.suspectAfter, DEFAULT_SUSPECT_AFTER)
    const wan = settings({ ...base, profile: 'wan' })
    assert.equal(wan.profile, 'wan')
    assert.equal(wan.heartbeatInterval, 1000)
    assert.equal(wan.suspectAfter, 5000)
    assert.equal(wan.silentGrace, 2000)
    assert.equal(wan.dialTimeout, 10_000)
    assert.equal(settings({ ...base, profile: 'wan', suspectAfter: 3000 }).suspectAfter, 3000)
    assert.equal(settings({ ...base, profile: 'wan', suspectAfter: undefined }).suspectAfter, 5000)
  })
})
