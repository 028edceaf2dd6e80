import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { loadConfig } from '../src/load-config.ts'
import { beanXml, makeConfDir, onlyProblem, problemsOf, prop } from './helpers.ts'

const BEAN = beanXml(prop('password', 'secret'))
/** Not parsed by the config: only whether the files are there matters here. */
const PEM = '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n'

describe('red5.properties rtmps.*, https.*, tls.*', () => {
  test("Red5's own file (rtmps.port and https.port, its certificate in a keystore) turns nothing on", (t) => {
    const properties = 'rtmps.port=8443\nhttps.port=5443\nrtmps.keystorepass=password\n'
    const dir = makeConfDir(t, { 'cluster.xml': BEAN, 'red5.properties': properties })
    const config = loadConfig(dir)
    assert.equal(config.tls.rtmps, null)
    assert.equal(config.tls.https, null)
    assert.deepEqual(config.warnings, [])
  })

  test('a port and conf/tls.crt + conf/tls.key turn a listener on, on the plain host unless told', (t) => {
    const properties = 'rtmp.host=127.0.0.9\nrtmps.port=8443\nhttps.port=5443\nhttps.host=127.0.0.10\n'
    const dir = makeConfDir(t, {
      'cluster.xml': BEAN,
      'red5.properties': properties,
      'tls.crt': PEM,
      'tls.key': PEM,
    })
    const { tls } = loadConfig(dir)
    assert.deepEqual(tls, {
      rtmps: { host: '127.0.0.9', port: 8443 },
      https: { host: '127.0.0.10', port: 5443 },
      cert: join(dir, 'tls.crt'),
      key: join(dir, 'tls.key'),
      ca: null,
      upstream: true,
    })
  })

  test('0 is off; tls.upstream=false; tls.ca and the files taken from the conf folder parent (RED5_HOME)', (t) => {
    const dir = makeConfDir(t, {
      'cluster.xml': BEAN,
      'red5.properties': '',
      'server.pem': PEM,
      'server.key': PEM,
      'ca.pem': PEM,
    })
    const name = dir.split('/').at(-1) as string
    const properties = [
      'rtmps.port=0',
      'https.port=5443',
      `tls.cert=${name}/server.pem`,
      `tls.key=${join(dir, 'server.key')}`,
      `tls.ca=${name}/ca.pem`,
      'tls.upstream=false',
      '',
    ].join('\n')
    writeFileSync(join(dir, 'red5.properties'), properties)
    const { tls } = loadConfig(dir)
    assert.equal(tls.rtmps, null)
    assert.deepEqual(tls.https, { host: '0.0.0.0', port: 5443 })
    assert.equal(tls.cert, join(dir, 'server.pem'))
    assert.equal(tls.key, join(dir, 'server.key'))
    assert.equal(tls.ca, join(dir, 'ca.pem'))
    assert.equal(tls.upstream, false)
  })

  test('a written certificate that is not there, a bad port, a TLS port that is the plain one, a missing CA', (t) => {
    const missing = makeConfDir(t, {
      'cluster.xml': BEAN,
      'red5.properties': 'rtmps.port=8443\ntls.cert=/nowhere/cert.pem\n',
    })
    const problem = (dir: string) => onlyProblem(() => loadConfig(dir))
    // the key was not written: conf/tls.key, not there either
    assert.deepEqual(
      problemsOf(() => loadConfig(missing)).map((p) => [p.property, p.message]),
      [
        ['tls.cert', 'names the TLS certificate /nowhere/cert.pem, which is not there'],
        [
          'rtmps.port',
          `turns TLS on, but its key ${join(missing, 'tls.key')} is not there: write it, or set tls.key`,
        ],
      ],
    )
    const files = { 'cluster.xml': BEAN, 'tls.crt': PEM, 'tls.key': PEM }
    const bad = makeConfDir(t, { ...files, 'red5.properties': 'rtmps.port=eighty\n' })
    assert.equal(problem(bad).property, 'rtmps.port')
    const clash = makeConfDir(t, { ...files, 'red5.properties': 'https.port=5080\n' })
    assert.match(problem(clash).message, /plain listener's port too/)
    const ca = makeConfDir(t, { 'cluster.xml': BEAN, 'red5.properties': 'tls.ca=/nowhere/ca.pem\n' })
    assert.equal(problem(ca).property, 'tls.ca')
    const upstream = makeConfDir(t, { 'cluster.xml': BEAN, 'red5.properties': 'tls.upstream=maybe\n' })
    assert.equal(problem(upstream).property, 'tls.upstream')
  })
})
