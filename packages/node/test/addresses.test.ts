import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { clusterXml, loadConfig, red5Properties } from '@meshcast/config'
import { announced } from '../src/addresses.ts'

/** The config of cluster.xml `publicIp` and red5.properties `properties`. */
function configOf(publicIp: string | undefined, properties: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'meshcast-addresses-'))
  try {
    writeFileSync(join(dir, 'cluster.xml'), clusterXml({ nodeType: 'origin', password: 'p', publicIp }))
    writeFileSync(join(dir, 'red5.properties'), red5Properties(properties))
    return loadConfig(dir)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

test('a listener announces its own host; a wildcard one the publicIp; RTMP the publicIp first', () => {
  const wild = { 'rtmp.host': '0.0.0.0', 'http.host': '0.0.0.0', 'mesh.host': '0.0.0.0' }
  assert.deepEqual(announced(configOf(undefined, wild)), {
    rtmpHost: '0.0.0.0',
    httpHost: '0.0.0.0',
    meshHost: '0.0.0.0',
  })
  assert.deepEqual(announced(configOf('203.0.113.7', wild)), {
    rtmpHost: '203.0.113.7',
    httpHost: '203.0.113.7',
    meshHost: '203.0.113.7',
  })
  const bound = { 'rtmp.host': '10.0.0.2', 'http.host': '10.0.0.3', 'mesh.host': '10.0.0.4' }
  assert.deepEqual(announced(configOf('203.0.113.7', bound)), {
    rtmpHost: '203.0.113.7',
    httpHost: '10.0.0.3',
    meshHost: '10.0.0.4',
  })
  // no publicIp: RTMP falls back to its listener, then the mesh's
  assert.equal(announced(configOf(undefined, bound)).rtmpHost, '10.0.0.2')
  assert.equal(announced(configOf(undefined, { ...wild, 'mesh.host': '10.0.0.4' })).rtmpHost, '10.0.0.4')
})
