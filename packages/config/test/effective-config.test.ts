import assert from 'node:assert/strict'
import { dirname, join } from 'node:path'
import { describe, it } from 'node:test'
import { CLUSTER_XML, defaultAuth, effectiveConfig, loadConfig, PASSWORD_MASK } from '../src/index.ts'
import { beanXml, makeConfDir, prop } from './helpers.ts'

describe('effectiveConfig', () => {
  it('gives a plain JSON view with the password masked and origins as host:port', (t) => {
    const xml = beanXml(prop('password', 'very-secret'), prop('origins', '203.0.113.10, [2001:db8::1]:1936'))
    const dir = makeConfDir(t, { [CLUSTER_XML]: xml })
    const config = loadConfig(dir)
    const view = effectiveConfig(config)
    const json = JSON.stringify(view)
    assert.doesNotMatch(json, /very-secret/)
    assert.deepEqual(JSON.parse(json), view)
    assert.deepEqual(view, {
      confDir: dir,
      files: { cluster: config.files.cluster, properties: null },
      role: 'edge',
      cluster: {
        origins: ['203.0.113.10:1935', '[2001:db8::1]:1936'],
        password: PASSWORD_MASK,
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
      webapps: { dir: join(dirname(dir), 'webapps'), apps: [], settings: [] },
      edge: { lingerSeconds: 10, waitSeconds: 30, stallSeconds: 2 },
      shutdown: { drainSeconds: 3 },
      rtmpLimits: {
        setupSeconds: 10,
        inactivityMs: 60000,
        connectionsPerIp: 1000,
        pendingPerIp: 64,
        chunkRate: 50000,
      },
      httpLimits: { connectionsPerIp: 256, requestRate: 200 },
      meshLimits: { connectionsPerIp: 64, pendingPerIp: 16 },
      auth: defaultAuth(dir),
      admin: { token: null, listener: null },
      tls: {
        rtmps: null,
        https: null,
        cert: join(dir, 'tls.crt'),
        key: join(dir, 'tls.key'),
        ca: null,
        upstream: true,
      },
      warnings: [],
    })
  })

  it('masks the password as ********', () => {
    assert.equal(PASSWORD_MASK, '********')
  })
})
