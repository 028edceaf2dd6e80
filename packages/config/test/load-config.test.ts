import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, it } from 'node:test'
import { ConfigError } from '@meshcast/interface'
import { CLUSTER_XML, COMMAND_LINE, DEFAULTS, loadConfig, RED5_PROPERTIES } from '../src/index.ts'
import { assertProblem, beanXml, makeConfDir, onlyProblem, problemsOf, prop, REPO_CONF } from './helpers.ts'

const ORIGIN_BEAN = beanXml(prop('password', 'secret'), prop('publicIp', '203.0.113.10'))

describe('loadConfig loads', () => {
  it("Red5 Pro's documented origin example as it is", () => {
    const dir = join(REPO_CONF, 'examples/origin')
    const config = loadConfig(dir)
    assert.equal(config.role, 'origin')
    assert.deepEqual(config.cluster.origins, [])
    assert.equal(config.cluster.publicIp, '203.0.113.10')
    assert.equal(config.cluster.publicPort, 1935)
    assert.equal(config.cluster.password, 'your-cluster-password')
    assert.equal(config.cluster.privateInstance, false)
    assert.equal(config.cluster.retryDuration, 30)
    assert.equal(config.cluster.nodeType, 'auto')
    assert.deepEqual(config.files, { cluster: join(dir, CLUSTER_XML), properties: null })
    assert.deepEqual(config.warnings, [])
  })

  it("Red5 Pro's documented edge example as it is", () => {
    const config = loadConfig(join(REPO_CONF, 'examples/edge'))
    assert.equal(config.role, 'edge')
    assert.deepEqual(config.cluster.origins, [{ host: '203.0.113.10', port: 1935, text: '203.0.113.10' }])
    assert.equal(config.cluster.publicIp, '203.0.113.55')
    assert.equal(config.cluster.password, 'your-cluster-password')
    assert.deepEqual(config.warnings, [])
  })

  it('the default conf folder of the repository, with its red5.properties', () => {
    const config = loadConfig(REPO_CONF)
    assert.equal(config.confDir, REPO_CONF)
    assert.deepEqual(config.files, {
      cluster: join(REPO_CONF, CLUSTER_XML),
      properties: join(REPO_CONF, RED5_PROPERTIES),
    })
    assert.equal(config.role, 'origin')
    assert.equal(config.cluster.publicIp, '127.0.0.1')
    assert.deepEqual(config.http, { host: '0.0.0.0', port: 5080 })
    assert.deepEqual(config.rtmp, { host: '0.0.0.0', port: 1935 })
    assert.deepEqual(config.mesh, { host: '0.0.0.0', port: 7800 })
    assert.deepEqual(config.warnings, [])
  })

  it('a relative conf path as an absolute one', () => {
    const config = loadConfig(relative(process.cwd(), REPO_CONF) || '.')
    assert.equal(config.confDir, REPO_CONF)
    assert.equal(config.files.cluster, join(REPO_CONF, CLUSTER_XML))
  })

  it('default listeners when red5.properties is absent', (t) => {
    const config = loadConfig(makeConfDir(t, { [CLUSTER_XML]: ORIGIN_BEAN }))
    assert.equal(config.files.properties, null)
    assert.deepEqual(
      { http: config.http, rtmp: config.rtmp, mesh: config.mesh },
      {
        http: DEFAULTS.http,
        rtmp: DEFAULTS.rtmp,
        mesh: DEFAULTS.mesh,
      },
    )
  })

  it('listeners from red5.properties', (t) => {
    const properties = 'http.port=8080\nrtmp.host=10.0.0.5\nrtmp.port=1936\nmesh.port=7801\n'
    const config = loadConfig(makeConfDir(t, { [CLUSTER_XML]: ORIGIN_BEAN, [RED5_PROPERTIES]: properties }))
    assert.deepEqual(config.http, { host: '0.0.0.0', port: 8080 })
    assert.deepEqual(config.rtmp, { host: '10.0.0.5', port: 1936 })
    assert.deepEqual(config.mesh, { host: '0.0.0.0', port: 7801 })
  })

  it('the role from nodeType and origins', (t) => {
    const cases = [
      [[prop('nodeType', 'off')], 'standalone'],
      [[prop('nodeType', 'edge')], 'edge'],
      [[prop('origins', '203.0.113.10')], 'edge'],
      [[prop('nodeType', 'relay'), prop('origins', '203.0.113.10')], 'relay'],
    ] as const
    for (const [lines, role] of cases) {
      assert.equal(loadConfig(makeConfDir(t, { [CLUSTER_XML]: beanXml(...lines) })).role, role)
    }
  })

  it('warnings from both files, in file order', (t) => {
    const dir = makeConfDir(t, {
      [CLUSTER_XML]: beanXml(prop('pasword', 'x')),
      [RED5_PROPERTIES]: 'mesh.prot=7801\n',
    })
    const { warnings } = loadConfig(dir)
    assert.equal(warnings.length, 2)
    assert.ok(warnings[0]?.startsWith(`${join(dir, CLUSTER_XML)}:2: unknown property "pasword"`), warnings[0])
    assert.ok(
      warnings[1]?.startsWith(`${join(dir, RED5_PROPERTIES)}:1: unknown key "mesh.prot"`),
      warnings[1],
    )
  })
})

describe('loadConfig applies command-line overrides', () => {
  it('host to all three listeners, and each port to its listener, over red5.properties', (t) => {
    const dir = makeConfDir(t, {
      [CLUSTER_XML]: ORIGIN_BEAN,
      [RED5_PROPERTIES]: 'http.host=10.0.0.1\nhttp.port=8080\n',
    })
    const config = loadConfig(dir, {
      host: '127.0.0.1',
      httpPort: '9080',
      rtmpPort: '19350',
      meshPort: '17800',
    })
    assert.deepEqual(config.http, { host: '127.0.0.1', port: 9080 })
    assert.deepEqual(config.rtmp, { host: '127.0.0.1', port: 19350 })
    assert.deepEqual(config.mesh, { host: '127.0.0.1', port: 17800 })
  })

  it('only what is given', (t) => {
    const config = loadConfig(makeConfDir(t, { [CLUSTER_XML]: ORIGIN_BEAN }), { meshPort: '7900' })
    assert.deepEqual(config.mesh, { host: '0.0.0.0', port: 7900 })
    assert.deepEqual(config.http, DEFAULTS.http)
  })

  it('rejecting a bad port, named by its flag', (t) => {
    const dir = makeConfDir(t, { [CLUSTER_XML]: ORIGIN_BEAN })
    const flags = [
      ['httpPort', '--http-port'],
      ['rtmpPort', '--rtmp-port'],
      ['meshPort', '--mesh-port'],
    ] as const
    for (const [option, flag] of flags) {
      for (const value of ['0', '65536', 'http', '80.5']) {
        const problem = onlyProblem(() => loadConfig(dir, { [option]: value }))
        assertProblem(problem, { file: COMMAND_LINE, property: flag, value, message: /1 to 65535/ })
      }
    }
  })

  it('rejecting a bad host', (t) => {
    const dir = makeConfDir(t, { [CLUSTER_XML]: ORIGIN_BEAN })
    const problem = onlyProblem(() => loadConfig(dir, { host: 'not a host' }))
    assertProblem(problem, {
      file: COMMAND_LINE,
      property: '--host',
      value: 'not a host',
      message: /not a valid address/,
    })
  })
})

describe('loadConfig returns a deep-frozen config', () => {
  it('so assignments throw in strict mode', (t) => {
    const dir = makeConfDir(t, { [CLUSTER_XML]: beanXml(prop('origins', '203.0.113.10')) })
    const config = loadConfig(dir)
    const origin = config.cluster.origins[0]
    assert.ok(origin)
    assert.throws(() => {
      config.role = 'origin'
    }, TypeError)
    assert.throws(() => {
      config.http.port = 1
    }, TypeError)
    assert.throws(() => {
      config.cluster.password = 'stolen'
    }, TypeError)
    assert.throws(() => {
      origin.port = 1
    }, TypeError)
    assert.throws(() => (config.cluster.origins as unknown[]).push(origin), TypeError)
    assert.throws(() => (config.warnings as string[]).push('x'), TypeError)
    assert.throws(() => {
      config.files.properties = 'x'
    }, TypeError)
  })

  it('and leaves DEFAULTS untouched', (t) => {
    loadConfig(makeConfDir(t, { [CLUSTER_XML]: ORIGIN_BEAN }), { host: '127.0.0.1' })
    assert.equal(DEFAULTS.http.host, '0.0.0.0')
    assert.ok(Object.isFrozen(DEFAULTS.cluster.origins))
  })
})

describe('loadConfig rejects', () => {
  it('a missing conf folder', (t) => {
    const dir = join(makeConfDir(t, {}), 'nope')
    assertProblem(
      onlyProblem(() => loadConfig(dir)),
      { file: dir, message: /conf folder not found/ },
    )
  })

  it('a file where the conf folder was expected', (t) => {
    const dir = makeConfDir(t, { [CLUSTER_XML]: ORIGIN_BEAN })
    const file = join(dir, CLUSTER_XML)
    assertProblem(
      onlyProblem(() => loadConfig(file)),
      { file, message: /is a file, not a folder/ },
    )
  })

  it('a conf folder without cluster.xml, pointing to conf/examples/', (t) => {
    const dir = makeConfDir(t, { [RED5_PROPERTIES]: 'http.port=5080\n' })
    assertProblem(
      onlyProblem(() => loadConfig(dir)),
      {
        file: join(dir, CLUSTER_XML),
        message:
          /cluster\.xml not found.*conf\/examples\/origin\/cluster\.xml.*conf\/examples\/edge\/cluster\.xml/,
      },
    )
  })

  it('a folder where cluster.xml or red5.properties was expected', (t) => {
    const dir = makeConfDir(t, { [CLUSTER_XML]: null, [RED5_PROPERTIES]: null })
    const problems = problemsOf(() => loadConfig(dir))
    assert.equal(problems.length, 2)
    assertProblem(problems[0], { file: join(dir, CLUSTER_XML), message: /is a folder, not a file/ })
    assertProblem(problems[1], { file: join(dir, RED5_PROPERTIES), message: /is a folder, not a file/ })
  })

  it('an origins entry that is this node by rtmp.host and rtmp.port', (t) => {
    const dir = makeConfDir(t, {
      [CLUSTER_XML]: beanXml(prop('origins', '10.0.0.5:1936, 10.0.0.6:1936')),
      [RED5_PROPERTIES]: 'rtmp.host=10.0.0.5\nrtmp.port=1936\n',
    })
    assertProblem(
      onlyProblem(() => loadConfig(dir)),
      {
        file: join(dir, CLUSTER_XML),
        line: 2,
        property: 'origins',
        value: '10.0.0.5:1936',
        message: /this node itself \(rtmp\.host:rtmp\.port 10\.0\.0\.5:1936\)/,
      },
    )
  })

  it('an origins entry that is this node by the command-line host and port', (t) => {
    const dir = makeConfDir(t, { [CLUSTER_XML]: beanXml(prop('origins', '127.0.0.1:19350')) })
    assert.equal(loadConfig(dir).role, 'edge')
    const problem = onlyProblem(() => loadConfig(dir, { host: '127.0.0.1', rtmpPort: '19350' }))
    assertProblem(problem, {
      file: join(dir, CLUSTER_XML),
      line: 2,
      property: 'origins',
      value: '127.0.0.1:19350',
      message: /itself/,
    })
  })

  it('an origins entry that is this node by both addresses only once', (t) => {
    const dir = makeConfDir(t, {
      [CLUSTER_XML]: beanXml(prop('publicIp', '10.0.0.5'), prop('origins', '10.0.0.5')),
      [RED5_PROPERTIES]: 'rtmp.host=10.0.0.5\n',
    })
    assert.match(onlyProblem(() => loadConfig(dir)).message, /publicIp:publicPort/)
  })

  it('every problem of both files and the command line in one ConfigError', (t) => {
    const dir = makeConfDir(t, {
      [CLUSTER_XML]: beanXml(prop('password', 'Secret'), prop('retryDuration', '0')),
      [RED5_PROPERTIES]: 'http.port=0\nhttp.port=5080\n',
    })
    assert.throws(() => loadConfig(dir, { meshPort: 'x' }), ConfigError)
    const problems = problemsOf(() => loadConfig(dir, { meshPort: 'x' }))
    assert.deepEqual(
      problems.map((p) => [p.file, p.line, p.property]),
      [
        [join(dir, CLUSTER_XML), 2, 'password'],
        [join(dir, CLUSTER_XML), 3, 'retryDuration'],
        [join(dir, RED5_PROPERTIES), 1, 'http.port'],
        [join(dir, RED5_PROPERTIES), 2, 'http.port'],
        [COMMAND_LINE, undefined, '--mesh-port'],
      ],
    )
  })

  it('malformed cluster.xml together with problems in red5.properties', (t) => {
    const dir = makeConfDir(t, {
      [CLUSTER_XML]: '<bean name="clusterConfig">\n</beans>',
      [RED5_PROPERTIES]: 'rtmp.port=-1',
    })
    const problems = problemsOf(() => loadConfig(dir))
    assert.equal(problems.length, 2)
    assertProblem(problems[0], { file: join(dir, CLUSTER_XML), line: 2, message: /malformed XML/ })
    assertProblem(problems[1], {
      file: join(dir, RED5_PROPERTIES),
      line: 1,
      property: 'rtmp.port',
      value: '-1',
      message: /port/,
    })
  })

  it('a bad command-line value even when the conf folder is missing', (t) => {
    const dir = join(makeConfDir(t, {}), 'nope')
    const problems = problemsOf(() => loadConfig(dir, { httpPort: '0' }))
    assert.deepEqual(
      problems.map((p) => p.file),
      [dir, COMMAND_LINE],
    )
  })

  it('with a message that names each problem', (t) => {
    const dir = makeConfDir(t, { [CLUSTER_XML]: beanXml(prop('password', 'Secret')) })
    writeFileSync(join(dir, RED5_PROPERTIES), 'mesh.port=0\n')
    assert.throws(() => loadConfig(dir), {
      name: 'ConfigError',
      message:
        /2 problems[\s\S]*cluster\.xml:2: property "password" \(value "Secret"\)[\s\S]*red5\.properties:1: property "mesh\.port"/,
    })
  })
})
