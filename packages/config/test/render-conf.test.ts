import assert from 'node:assert/strict'
import { test } from 'node:test'
import { clusterXml, parseClusterXml, parseRed5Properties, red5Properties } from '../src/index.ts'

test('clusterXml renders a bean that parseClusterXml reads back to the same values', () => {
  const text = clusterXml({
    origins: ['127.0.0.2:1935', '127.0.0.3'],
    password: 'a<b&"c',
    publicIp: '127.0.0.4',
    privateInstance: true,
    nodeType: 'edge',
    streamOnDemand: true,
  })
  const { settings } = parseClusterXml(text, 'cluster.xml')
  assert.deepEqual(
    settings.origins.map((o) => `${o.host}:${o.port}`),
    ['127.0.0.2:1935', '127.0.0.3:1935'],
  )
  assert.equal(settings.password, 'a<b&"c')
  assert.equal(settings.publicIp, '127.0.0.4')
  assert.equal(settings.privateInstance, true)
  assert.equal(settings.nodeType, 'edge')
  assert.equal(settings.streamOnDemand, true)
})

test('red5Properties renders keys that parseRed5Properties reads back', () => {
  const text = red5Properties({ 'http.host': '127.0.0.9', 'http.port': 5081, 'mesh.mdns': false })
  const parsed = parseRed5Properties(text, 'red5.properties')
  assert.equal(parsed.http.host, '127.0.0.9')
  assert.equal(parsed.http.port, 5081)
  assert.equal(parsed.discovery.mdns, false)
})
