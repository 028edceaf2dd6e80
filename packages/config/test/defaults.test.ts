import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  CLUSTER_XML,
  DEFAULT_HOST,
  DEFAULT_HTTP_PORT,
  DEFAULT_MDNS,
  DEFAULT_MESH_PORT,
  DEFAULT_PASSWORD,
  DEFAULT_RETRY_DURATION,
  DEFAULT_RTMP_PORT,
  DEFAULTS,
  RED5_PROPERTIES,
} from '../src/index.ts'

describe('DEFAULTS', () => {
  it("are Red5 Pro's and Red5's defaults", () => {
    assert.deepEqual(DEFAULTS, {
      cluster: {
        origins: [],
        password: 'changeme',
        publicIp: '0.0.0.0',
        publicPort: 1935,
        privateInstance: false,
        retryDuration: 30,
        nodeType: 'auto',
        kickOnUnpublish: false,
        streamOnDemand: false,
      },
      http: { host: '0.0.0.0', port: 5080 },
      rtmp: { host: '0.0.0.0', port: 1935 },
      mesh: { host: '0.0.0.0', port: 7800 },
      discovery: { mdns: true, peers: [], healSeconds: 600, profile: 'lan' },
    })
  })

  it('match the named constants', () => {
    assert.equal(DEFAULTS.cluster.password, DEFAULT_PASSWORD)
    assert.equal(DEFAULTS.cluster.retryDuration, DEFAULT_RETRY_DURATION)
    assert.equal(DEFAULTS.http.port, DEFAULT_HTTP_PORT)
    assert.equal(DEFAULTS.rtmp.port, DEFAULT_RTMP_PORT)
    assert.equal(DEFAULTS.mesh.port, DEFAULT_MESH_PORT)
    assert.equal(DEFAULTS.mesh.host, DEFAULT_HOST)
    assert.equal(DEFAULTS.discovery.mdns, DEFAULT_MDNS)
  })

  it('are deep-frozen', () => {
    assert.ok(Object.isFrozen(DEFAULTS))
    assert.ok(Object.isFrozen(DEFAULTS.cluster))
    assert.ok(Object.isFrozen(DEFAULTS.http))
    assert.ok(Object.isFrozen(DEFAULTS.discovery.peers))
  })
})

describe('file names', () => {
  it('are the Red5 ones', () => {
    assert.equal(CLUSTER_XML, 'cluster.xml')
    assert.equal(RED5_PROPERTIES, 'red5.properties')
  })
})
