import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DEFAULTS, parseRed5Properties } from '../src/index.ts'
import { assertProblem, onlyProblem, problemsOf } from './helpers.ts'

const FILE = '/conf/red5.properties'

describe('parseRed5Properties reads', () => {
  it('the six listener keys', () => {
    const text = [
      'http.host=127.0.0.1',
      'http.port=8080',
      'rtmp.host = ::',
      'rtmp.port: 1936',
      'mesh.host [2001:db8::1]',
      'mesh.port=7801',
    ].join('\n')
    assert.deepEqual(parseRed5Properties(text, FILE), {
      http: { host: '127.0.0.1', port: 8080 },
      rtmp: { host: '::', port: 1936 },
      mesh: { host: '2001:db8::1', port: 7801 },
      discovery: { mdns: true, peers: [], healSeconds: 600, profile: 'lan' },
      warnings: [],
    })
  })

  it('defaults for absent keys', () => {
    const { http, rtmp, mesh, discovery } = parseRed5Properties('# nothing here\n', FILE)
    assert.deepEqual(
      { http, rtmp, mesh, discovery },
      { http: DEFAULTS.http, rtmp: DEFAULTS.rtmp, mesh: DEFAULTS.mesh, discovery: DEFAULTS.discovery },
    )
  })

  it('a real Red5 file, ignoring its other keys silently even when they hold odd values', () => {
    const text = [
      '# Socket policy',
      'policy.host=0.0.0.0',
      'policy.port=843',
      'http.host=0.0.0.0',
      'http.port=5080',
      'https.port=5443',
      'http.URIEncoding=UTF-8',
      'rtmp.host=0.0.0.0',
      'rtmp.port=1935',
      'rtmp.ping_interval=1000',
      'rtmps.port=not-a-port',
      'HTTP.PORT=nope',
    ].join('\n')
    const result = parseRed5Properties(text, FILE)
    assert.deepEqual(result.warnings, [])
    assert.equal(result.http.port, 5080)
  })
})

describe('parseRed5Properties warns', () => {
  it('about an unknown mesh.* key, with its line and the likely intended key', () => {
    const { warnings, mesh } = parseRed5Properties(
      'mesh.host=0.0.0.0\n\nmesh.prot=7801\nmesh.bootstrap=x\n',
      FILE,
    )
    assert.equal(mesh.port, DEFAULTS.mesh.port)
    assert.equal(warnings.length, 2)
    assert.match(
      warnings[0] ?? '',
      /^\/conf\/red5\.properties:3: unknown key "mesh\.prot" .*did you mean "mesh\.port"/,
    )
    assert.match(warnings[1] ?? '', /:4: unknown key "mesh\.bootstrap" is ignored$/)
  })
})

describe('parseRed5Properties rejects', () => {
  it('a port outside 1..65535 or not an integer, for each listener', () => {
    for (const key of ['http.port', 'rtmp.port', 'mesh.port']) {
      for (const value of ['0', '70000', '80.5', 'http']) {
        const problem = onlyProblem(() => parseRed5Properties(`# listeners\n${key}=${value}\n`, FILE))
        assertProblem(problem, { file: FILE, line: 2, property: key, value, message: /1 to 65535/ })
      }
    }
  })

  it('an invalid host, for each listener', () => {
    for (const key of ['http.host', 'rtmp.host', 'mesh.host']) {
      for (const value of ['', '0.0.0.256', 'my host']) {
        const problem = onlyProblem(() => parseRed5Properties(`${key}=${value}`, FILE))
        assertProblem(problem, { file: FILE, line: 1, property: key, value, message: /not a valid address/ })
      }
    }
  })

  it('a key set twice, naming both lines', () => {
    const problem = onlyProblem(() =>
      parseRed5Properties('http.port=5080\nrtmp.port=1935\n\nhttp.port=5081\n', FILE),
    )
    assertProblem(problem, {
      file: FILE,
      line: 4,
      property: 'http.port',
      value: '5081',
      message: /more than once \(lines 1 and 4\)/,
    })
  })

  it('with the right line after continuation lines and CRLF endings', () => {
    const text = 'rtmp.ping_interval=1,\\\r\n   2,\\\r\n   3\r\n! comment\r\nmesh.port=0\r\n'
    assertProblem(
      onlyProblem(() => parseRed5Properties(text, FILE)),
      {
        file: FILE,
        line: 5,
        property: 'mesh.port',
        value: '0',
        message: /port/,
      },
    )
  })

  it('every problem of the file at once', () => {
    const problems = problemsOf(() =>
      parseRed5Properties('http.port=0\nrtmp.host=?\nmesh.port=x\nhttp.port=1\n', FILE),
    )
    assert.deepEqual(
      problems.map((p) => [p.line, p.property]),
      [
        [1, 'http.port'],
        [2, 'rtmp.host'],
        [3, 'mesh.port'],
        [4, 'http.port'],
      ],
    )
  })
})
