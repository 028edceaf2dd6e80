import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import {
  CLUSTER_PROPERTIES,
  ENV_VARIABLES,
  ENVIRONMENT,
  envName,
  loadConfig,
  PASSWORD_MASK,
  RED5_PROPERTIES,
  RED5_PROPERTY_KEYS,
} from '../src/index.ts'
import { assertProblem, beanXml, makeConfDir, onlyProblem, problemsOf, prop } from './helpers.ts'

const BEAN = beanXml(
  prop('password', 'fromfile'),
  prop('publicIp', '203.0.113.10'),
  prop('origins', '203.0.113.1'),
)

describe('MESHCAST_* variables', () => {
  it('are named after the property or key in upper snake case', () => {
    assert.equal(envName('publicIp'), 'MESHCAST_PUBLIC_IP')
    assert.equal(envName('streamOnDemand'), 'MESHCAST_STREAM_ON_DEMAND')
    assert.equal(envName('mesh.peers'), 'MESHCAST_MESH_PEERS')
    assert.equal(envName('shutdown.drain'), 'MESHCAST_SHUTDOWN_DRAIN')
    for (const name of CLUSTER_PROPERTIES) assert.ok(ENV_VARIABLES.includes(envName(name)), name)
    for (const key of RED5_PROPERTY_KEYS.filter((k) => k !== 'webapps.dir')) {
      assert.ok(ENV_VARIABLES.includes(envName(key)), key)
    }
  })

  it('win over cluster.xml and red5.properties, and the command line wins over them', (t) => {
    const dir = makeConfDir(t, {
      'cluster.xml': BEAN,
      [RED5_PROPERTIES]: 'http.port=6000\nmesh.peers=203.0.113.30\nshutdown.drain=1\n',
    })
    const env = {
      MESHCAST_PASSWORD: 'fromenv',
      MESHCAST_PUBLIC_IP: '10.1.2.3',
      MESHCAST_ORIGINS: 'origins.example, 10.9.9.9:1936',
      MESHCAST_STREAM_ON_DEMAND: 'TRUE',
      MESHCAST_HTTP_PORT: '7000',
      MESHCAST_RTMP_PORT: '2000',
      MESHCAST_MESH_MDNS: 'false',
      MESHCAST_MESH_PEERS: 'mesh.example,10.0.0.7:7801',
      MESHCAST_SHUTDOWN_DRAIN: '12.5',
      PATH: '/bin',
    }
    const config = loadConfig(dir, { httpPort: '8000' }, env)
    assert.equal(config.cluster.password, 'fromenv')
    assert.equal(config.cluster.publicIp, '10.1.2.3')
    assert.deepEqual(
      config.cluster.origins.map((o) => o.text),
      ['origins.example', '10.9.9.9:1936'],
    )
    assert.equal(config.cluster.streamOnDemand, true)
    assert.equal(config.http.port, 8000)
    assert.equal(config.rtmp.port, 2000)
    assert.equal(config.discovery.mdns, false)
    assert.deepEqual(config.discovery.peers, [
      { host: 'mesh.example', port: 7800 },
      { host: '10.0.0.7', port: 7801 },
    ])
    assert.equal(config.shutdown.drainSeconds, 12.5)
    assert.deepEqual(config.warnings, [])
  })

  it('set red5.properties keys when the conf folder has no red5.properties', (t) => {
    const dir = makeConfDir(t, { 'cluster.xml': BEAN })
    const config = loadConfig(dir, {}, { MESHCAST_MESH_PORT: '7900', MESHCAST_EDGE_STALL: '4' })
    assert.equal(config.mesh.port, 7900)
    assert.equal(config.edge.stallSeconds, 4)
    assert.equal(config.files.properties, null)
  })

  it('count as unset when empty, so the file keeps its value', (t) => {
    const dir = makeConfDir(t, { 'cluster.xml': BEAN })
    const config = loadConfig(dir, {}, { MESHCAST_PASSWORD: '', MESHCAST_ORIGINS: '' })
    assert.equal(config.cluster.password, 'fromfile')
    assert.equal(config.cluster.origins.length, 1)
  })

  it('with a bad value are problems that name the variable, not a file line', (t) => {
    const dir = makeConfDir(t, { 'cluster.xml': BEAN, [RED5_PROPERTIES]: 'rtmp.port=1935\n' })
    const problems = problemsOf(() =>
      loadConfig(
        dir,
        {},
        { MESHCAST_PUBLIC_PORT: 'ninety', MESHCAST_RTMP_PORT: '0', MESHCAST_ORIGINS: 'a b' },
      ),
    )
    assert.equal(problems.length, 3, JSON.stringify(problems))
    const by = (property: string) => problems.find((p) => p.property === property)
    assertProblem(by('MESHCAST_PUBLIC_PORT'), {
      file: ENVIRONMENT,
      property: 'MESHCAST_PUBLIC_PORT',
      value: 'ninety',
      message: /port/,
    })
    assertProblem(by('MESHCAST_RTMP_PORT'), {
      file: ENVIRONMENT,
      property: 'MESHCAST_RTMP_PORT',
      value: '0',
      message: /port/,
    })
    assertProblem(by('MESHCAST_ORIGINS'), {
      file: ENVIRONMENT,
      property: 'MESHCAST_ORIGINS',
      value: 'a b',
      message: /./,
    })
  })

  it("naming this node itself in MESHCAST_ORIGINS is that variable's problem", (t) => {
    const dir = makeConfDir(t, { 'cluster.xml': BEAN })
    const problem = onlyProblem(() =>
      loadConfig(dir, {}, { MESHCAST_PUBLIC_IP: '10.0.0.5', MESHCAST_ORIGINS: '10.0.0.5:1935' }),
    )
    assertProblem(problem, {
      file: ENVIRONMENT,
      property: 'MESHCAST_ORIGINS',
      value: '10.0.0.5:1935',
      message: /names this node itself/,
    })
  })

  it('that are unknown give a warning with the likely name', (t) => {
    const dir = makeConfDir(t, { 'cluster.xml': BEAN })
    const config = loadConfig(dir, {}, { MESHCAST_PUBLICIP: '10.0.0.1', MESHCAST_LOG_FORMAT: 'json' })
    assert.deepEqual(config.warnings, [
      'environment: unknown variable MESHCAST_PUBLICIP is ignored (did you mean "MESHCAST_PUBLIC_IP"?)',
    ])
  })
})

describe('MESHCAST_PASSWORD_FILE', () => {
  it('gives the password from a file, without its line end', (t) => {
    const dir = makeConfDir(t, { 'cluster.xml': BEAN })
    const file = join(dir, 'password')
    writeFileSync(file, 'fromsecret\n')
    assert.equal(loadConfig(dir, {}, { MESHCAST_PASSWORD_FILE: file }).cluster.password, 'fromsecret')
  })

  it('and MESHCAST_PASSWORD together are a problem', (t) => {
    const dir = makeConfDir(t, { 'cluster.xml': BEAN })
    const file = join(dir, 'password')
    writeFileSync(file, 'fromsecret')
    const problem = onlyProblem(() =>
      loadConfig(dir, {}, { MESHCAST_PASSWORD_FILE: file, MESHCAST_PASSWORD: 'other' }),
    )
    assertProblem(problem, {
      file: ENVIRONMENT,
      property: 'MESHCAST_PASSWORD_FILE',
      value: file,
      message: /both set: keep one/,
    })
  })

  it('naming a missing file is a problem that says why', (t) => {
    const dir = makeConfDir(t, { 'cluster.xml': BEAN })
    const file = join(dir, 'nothing-here')
    const problem = onlyProblem(() => loadConfig(dir, {}, { MESHCAST_PASSWORD_FILE: file }))
    assertProblem(problem, {
      file: ENVIRONMENT,
      property: 'MESHCAST_PASSWORD_FILE',
      value: file,
      message: /cannot be read: ENOENT/,
    })
  })

  it('holding a password with capitals is refused as the file would be, without repeating it', (t) => {
    const dir = makeConfDir(t, { 'cluster.xml': BEAN })
    const file = join(dir, 'password')
    writeFileSync(file, 'TopSecret\n')
    const problem = onlyProblem(() => loadConfig(dir, {}, { MESHCAST_PASSWORD_FILE: file }))
    assertProblem(problem, {
      file: ENVIRONMENT,
      property: 'MESHCAST_PASSWORD_FILE',
      value: PASSWORD_MASK,
      message: /capital letters/,
    })
    assert.ok(!problem.message.toLowerCase().includes('topsecret'), problem.message)
  })
})
