import assert from 'node:assert/strict'
import { dirname, join } from 'node:path'
import { describe, test } from 'node:test'
import { effectiveConfig } from '../src/effective-config.ts'
import { loadConfig } from '../src/load-config.ts'
import { readRed5Properties } from '../src/red5-properties/parse-red5-properties.ts'
import { beanXml, makeConfDir, onlyProblem, problemsOf, prop } from './helpers.ts'

const BEAN = beanXml(prop('password', 'secret'))

describe('red5.properties auth.* (Red5 Pro Simple Authentication)', () => {
  test('off by default: the file validator, the conf folder credentials file, a 3 s roundtrip timeout', (t) => {
    const dir = makeConfDir(t, { 'cluster.xml': BEAN })
    assert.deepEqual(loadConfig(dir).auth, {
      publish: false,
      play: false,
      validator: 'file',
      credentials: join(dir, 'simple-auth-plugin.credentials'),
      roundtripUrl: null,
      roundtripTimeoutMs: 3000,
      origins: [],
      groups: [],
      ownerHoldMs: 30_000,
    })
  })

  test('every key read; a relative credentials path is taken from the conf folder parent (RED5_HOME)', (t) => {
    const properties = [
      'auth.publish=true',
      'auth.play=TRUE',
      'auth.validator=roundtrip',
      'auth.credentials=conf/users.credentials',
      'auth.roundtrip.url=https://auth.example.org/validate',
      'auth.roundtrip.timeout=1500',
      'auth.group.studio=alice, bob,alice',
      'auth.group.backup=carol',
      'auth.owner_hold=2.5',
      '',
    ].join('\n')
    const dir = makeConfDir(t, { 'cluster.xml': BEAN, 'red5.properties': properties })
    assert.deepEqual(loadConfig(dir).auth, {
      publish: true,
      play: true,
      validator: 'roundtrip',
      credentials: join(dirname(dir), 'conf/users.credentials'),
      roundtripUrl: 'https://auth.example.org/validate',
      roundtripTimeoutMs: 1500,
      origins: [],
      groups: [
        { name: 'studio', users: ['alice', 'bob'] },
        { name: 'backup', users: ['carol'] },
      ],
      ownerHoldMs: 2500,
    })
  })

  test('a group naming no user, or a user in two groups, is a problem; a bad owner hold too', (t) => {
    const dir = makeConfDir(t, {
      'cluster.xml': BEAN,
      'red5.properties': 'auth.group.a=ann,ben\nauth.group.b=ben\nauth.group.c= , \nauth.owner_hold=-1\n',
    })
    const problems = problemsOf(() => loadConfig(dir))
    assert.deepEqual(problems.map((p) => [p.line, p.property]).sort(), [
      [2, 'auth.group.b'],
      [3, 'auth.group.c'],
      [4, 'auth.owner_hold'],
    ])
    assert.match(problems.find((p) => p.line === 2)?.message ?? '', /already in auth\.group\.a/)
    assert.match(problems.find((p) => p.line === 3)?.message ?? '', /names no user/)
  })

  test('bad values are problems naming the line and what would be valid', () => {
    const r = readRed5Properties(
      'auth.publish=yes\nauth.validator=ldap\nauth.roundtrip.url=ftp://x/\nauth.roundtrip.timeout=0\nauth.roundtrip.url2=x\n',
      'r.p',
    )
    assert.deepEqual(
      r.problems.map((p) => [p.line, p.property]),
      [
        [1, 'auth.publish'],
        [2, 'auth.validator'],
        [3, 'auth.roundtrip.url'],
        [4, 'auth.roundtrip.timeout'],
      ],
    )
    assert.match(r.problems[1]?.message ?? '', /file or roundtrip/)
    assert.match(r.problems[2]?.message ?? '', /http:\/\/ or https:\/\//)
    assert.match(r.warnings.join('\n'), /auth\.roundtrip\.url2.*auth\.roundtrip\.url/)
  })

  test('the roundtrip validator without an endpoint is a problem', (t) => {
    const dir = makeConfDir(t, {
      'cluster.xml': BEAN,
      'red5.properties': 'auth.play=true\nauth.validator=roundtrip\n',
    })
    const problem = onlyProblem(() => loadConfig(dir))
    assert.equal(problem.line, 2)
    assert.equal(problem.property, 'auth.validator')
    assert.match(problem.message, /auth\.roundtrip\.url is not set/)
  })

  test('MESHCAST_AUTH_* variables set the keys', (t) => {
    const dir = makeConfDir(t, { 'cluster.xml': BEAN })
    const auth = loadConfig(
      dir,
      {},
      { MESHCAST_AUTH_PUBLISH: 'true', MESHCAST_AUTH_CREDENTIALS: '/etc/u.cred' },
    ).auth
    assert.equal(auth.publish, true)
    assert.equal(auth.credentials, '/etc/u.cred')
  })
})

describe('red5.properties http.admin.token', () => {
  test('none by default; a token is read, and masked by effectiveConfig', (t) => {
    assert.equal(readRed5Properties('', 'r.p').admin.token, null)
    const dir = makeConfDir(t, {
      'cluster.xml': BEAN,
      'red5.properties': 'http.admin.token=0123456789abcdef0123\n',
    })
    const config = loadConfig(dir)
    assert.equal(config.admin.token, '0123456789abcdef0123')
    assert.deepEqual(effectiveConfig(config).admin, { token: '********', listener: null })
  })

  test('admin.port turns the admin listener on, on 127.0.0.1 unless admin.host says otherwise', (t) => {
    const at = (text: string) =>
      loadConfig(makeConfDir(t, { 'cluster.xml': BEAN, 'red5.properties': text })).admin.listener
    assert.equal(at(''), null)
    assert.equal(at('admin.port=0\n'), null)
    assert.deepEqual(at('admin.port=5090\n'), { host: '127.0.0.1', port: 5090 })
    assert.deepEqual(at('admin.host=10.1.2.3\nadmin.port=5090\n'), { host: '10.1.2.3', port: 5090 })
    const shown = effectiveConfig(
      loadConfig(makeConfDir(t, { 'cluster.xml': BEAN, 'red5.properties': 'admin.port=5090\n' })),
    ) as { admin: { listener: string | null } }
    assert.equal(shown.admin.listener, '127.0.0.1:5090')
  })

  test("an admin port that is another listener's on the same address is a problem; a bad one too", (t) => {
    const problem = (text: string) =>
      onlyProblem(() => loadConfig(makeConfDir(t, { 'cluster.xml': BEAN, 'red5.properties': text })))
    // http listens on every address (the default 0.0.0.0): 5080 is taken on 127.0.0.1 too
    assert.match(problem('admin.port=5080\n').message, /http's port on the same address/)
    assert.match(problem('admin.port=1935\n').message, /rtmp's port/)
    assert.equal(problem('admin.port=99999\n').property, 'admin.port')
    assert.equal(problem('admin.prot=5090\nadmin.port=x\n').property, 'admin.port')
    // another address's 5080 is not this one's
    const config = loadConfig(
      makeConfDir(t, { 'cluster.xml': BEAN, 'red5.properties': 'http.host=10.1.2.3\nadmin.port=5080\n' }),
    )
    assert.deepEqual(config.admin.listener, { host: '127.0.0.1', port: 5080 })
  })

  test('a short token or one with spaces is a problem that never quotes it', () => {
    for (const text of ['http.admin.token=short-secret\n', 'http.admin.token=has a space in it here\n']) {
      const r = readRed5Properties(text, 'r.p')
      assert.equal(r.problems.length, 1)
      assert.equal(r.problems[0]?.property, 'http.admin.token')
      assert.equal(r.problems[0]?.value, undefined)
      assert.doesNotMatch(JSON.stringify(r.problems), /short-secret|has a space/)
    }
  })
})

describe('red5.properties auth.origin.<name>.* (credentials for pulls from an origin)', () => {
  test('read per named entry (port 1935 when none), shown by address only; problems never quote a secret', (t) => {
    const text = [
      'auth.origin.nginx.address=203.0.113.10',
      'auth.origin.nginx.username=edge',
      'auth.origin.nginx.password=origin-pw-1',
      'auth.origin.v6.address=[2001:db8::1]:1936',
      'auth.origin.v6.token=tok-1',
      '',
    ].join('\n')
    const dir = makeConfDir(t, { 'cluster.xml': BEAN, 'red5.properties': text })
    const config = loadConfig(dir)
    assert.deepEqual(config.auth.origins, [
      { host: '203.0.113.10', port: 1935, username: 'edge', password: 'origin-pw-1' },
      { host: '2001:db8::1', port: 1936, token: 'tok-1' },
    ])
    const shown = JSON.stringify(effectiveConfig(config))
    assert.match(shown, /"origins":\["203\.0\.113\.10:1935","\[2001:db8::1\]:1936"\]/)
    assert.doesNotMatch(shown, /origin-pw-1|tok-1/)
  })

  test('an entry without an address, with a bad one, or repeated is a problem that never quotes a secret', (t) => {
    const text = [
      'auth.origin.a.password=pw-a',
      'auth.origin.b.address=bad host',
      'auth.origin.b.password=pw-b',
      'auth.origin.c.address=h',
      'auth.origin.c.password=pw-c',
      'auth.origin.c.password=pw-d',
      '',
    ].join('\n')
    const dir = makeConfDir(t, { 'cluster.xml': BEAN, 'red5.properties': text })
    const problems = problemsOf(() => loadConfig(dir))
    assert.deepEqual(problems.map((p) => p.property).sort(), [
      'auth.origin.a',
      'auth.origin.b.address',
      'auth.origin.c.password',
    ])
    assert.doesNotMatch(JSON.stringify(problems), /pw-a|pw-b|pw-c|pw-d/)
  })
})
