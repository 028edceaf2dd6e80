import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { type AccessRequest, ConfigError, type Logger } from '@meshcast/interface'
import {
  CLUSTER_USER,
  ClusterTokens,
  hashPassword,
  matchesHash,
  OwnerTags,
  parseCredentials,
  parseScryptHash,
  StreamAuth,
  type StreamAuthInit,
} from '../src/index.ts'

/** A logger that keeps every line (message and fields) as text. */
function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = []
  const log = (message: string, fields?: object) => lines.push(`${message} ${JSON.stringify(fields ?? {})}`)
  const logger = { lines, error: log, warn: log, info: log, debug: log, child: () => logger }
  return logger as unknown as Logger & { lines: string[] }
}

const dir = mkdtempSync(join(tmpdir(), 'meshcast-auth-'))
after(() => rmSync(dir, { recursive: true, force: true }))

function request(over: Partial<AccessRequest> = {}): AccessRequest {
  return {
    action: 'publish',
    app: 'live',
    name: 'show',
    credentials: {},
    clientIp: '127.0.0.9',
    protocol: 'rtmp',
    ...over,
  }
}

function init(over: Partial<StreamAuthInit>): StreamAuthInit {
  return {
    publish: true,
    play: false,
    validator: 'file',
    credentials: join(dir, 'none'),
    roundtripUrl: null,
    roundtripTimeoutMs: 500,
    clusterPassword: 'clusterpw',
    ...over,
  }
}

describe('the credentials file', () => {
  test('username=password lines, comments, Java escapes; a $scrypt$ value is a hash', async () => {
    const hash = await hashPassword('s3cret', { ln: 10, r: 8, p: 1 })
    const users = parseCredentials(`# users\n! also a comment\nalice=wonder\\=land\nbob = ${hash}\n`, 'c')
    assert.deepEqual(users.get('alice'), { kind: 'plain', password: 'wonder=land' })
    const bob = users.get('bob')
    assert.equal(bob?.kind, 'scrypt')
    if (bob?.kind === 'scrypt') {
      assert.equal(await matchesHash(bob.hash, 's3cret'), true)
      assert.equal(await matchesHash(bob.hash, 's3creT'), false)
    }
  })

  test('a malformed file is a ConfigError naming the file and each line, never quoting a password', () => {
    const text =
      'alice=pw-first\nalice=pw-second\nbob=\ncarol=$scrypt$ln=99,r=8,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA\n'
    assert.throws(
      () => parseCredentials(text, '/conf/simple-auth-plugin.credentials'),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError)
        assert.deepEqual(
          err.problems.map((p) => [p.file, p.line, p.property]),
          [
            ['/conf/simple-auth-plugin.credentials', 2, 'alice'],
            ['/conf/simple-auth-plugin.credentials', 3, 'bob'],
            ['/conf/simple-auth-plugin.credentials', 4, 'carol'],
          ],
        )
        assert.doesNotMatch(err.message, /pw-first|pw-second|c2FsdHNhbHQ/)
        assert.match(err.message, /ln=99/)
        return true
      },
    )
  })

  test('a hash string that is not scrypt PHC is refused with what is wrong', () => {
    assert.throws(() => parseScryptHash('$scrypt$ln=10$x$y'), /salt/)
    assert.throws(() => parseScryptHash('$bcrypt$x'), /\$scrypt\$/)
  })
})

describe('stream owners', () => {
  test('a group makes its users one owner; the tag is the same on every member and names nobody', () => {
    const groups = [{ name: 'studio', users: ['alice', 'bob'] }]
    const a = new OwnerTags('clusterpw', groups)
    const b = new OwnerTags('clusterpw', groups)
    assert.equal(a.of('alice'), a.of('bob'))
    assert.equal(a.of('alice'), b.of('bob'), 'another member tags alike')
    assert.notEqual(a.of('alice'), a.of('carol'))
    assert.notEqual(
      a.of('carol'),
      new OwnerTags('otherpw', groups).of('carol'),
      'keyed by the cluster password',
    )
    assert.match(a.of('carol'), /^[A-Za-z0-9_-]{22}$/)
    assert.ok(!a.of('carol').includes('carol'))
  })

  test('a group of the file validator owns what its users publish; plays and cluster pulls own nothing', async () => {
    const file = join(dir, 'owners.credentials')
    writeFileSync(file, 'alice=a-pw\nbob=b-pw\ncarol=c-pw\n')
    const auth = new StreamAuth(
      init({ credentials: file, play: true, groups: [{ name: 'studio', users: ['alice', 'bob'] }] }),
      recordingLogger(),
    )
    await auth.start()
    try {
      const as = async (username: string, password: string, action: 'publish' | 'play' = 'publish') => {
        const v = await auth.authorize(request({ action, credentials: { username, password } }))
        assert.ok(v.allowed, username)
        return v.owner
      }
      assert.equal(await as('alice', 'a-pw'), await as('bob', 'b-pw'))
      assert.notEqual(await as('alice', 'a-pw'), await as('carol', 'c-pw'))
      assert.equal(await as('alice', 'a-pw', 'play'), null)
      assert.equal(await as(CLUSTER_USER, 'clusterpw', 'play'), null)
    } finally {
      await auth.stop()
    }
  })
})

describe('StreamAuth with the file validator', () => {
  const file = join(dir, 'simple-auth-plugin.credentials')
  let auth: StreamAuth
  let log: ReturnType<typeof recordingLogger>
  before(async () => {
    writeFileSync(file, `alice=wonderland\nbob=${await hashPassword('builder', { ln: 10, r: 8, p: 1 })}\n`)
    log = recordingLogger()
    auth = new StreamAuth(init({ credentials: file, watchMs: 20 }), log)
    await auth.start()
  })
  after(() => auth.stop())

  test('allows a listed user, refuses a wrong password, a missing one and none at all', async () => {
    const ok = await auth.authorize(request({ credentials: { username: 'alice', password: 'wonderland' } }))
    assert.deepEqual(ok, { allowed: true, user: 'alice', owner: new OwnerTags('clusterpw', []).of('alice') })
    const bob = await auth.authorize(request({ credentials: { username: 'bob', password: 'builder' } }))
    assert.equal(bob.allowed && bob.user, 'bob')
    const wrong = await auth.authorize(request({ credentials: { username: 'alice', password: 'wonder' } }))
    assert.equal(wrong.allowed, false)
    assert.equal(!wrong.allowed && wrong.reason, 'bad-credentials')
    const none = await auth.authorize(request())
    assert.equal(!none.allowed && none.reason, 'no-credentials')
    const half = await auth.authorize(request({ credentials: { username: 'alice' } }))
    assert.equal(!half.allowed && half.reason, 'bad-credentials')
    const long = await auth.authorize(request({ credentials: { username: 'a'.repeat(200), password: 'x' } }))
    assert.equal(!long.allowed && long.reason, 'odd-credentials')
    assert.equal(auth.counts().publish.allowed, 2)
    assert.equal(auth.counts().publish.refused['bad-credentials'], 2)
  })

  test('what is not protected needs nothing (auth.play is off here)', async () => {
    assert.deepEqual(await auth.authorize(request({ action: 'play' })), {
      allowed: true,
      user: null,
      owner: null,
    })
  })

  test('refusals are logged with the address and stream, never with a password', async () => {
    await auth.authorize(
      request({ name: 'other', credentials: { username: 'alice', password: 'guessed-pw' } }),
    )
    const text = log.lines.join('\n')
    assert.match(text, /access refused: authentication failed.*127\.0\.0\.9/)
    assert.doesNotMatch(text, /wonderland|builder|guessed-pw/)
  })

  test('a changed file takes effect without a restart; a broken one keeps the users it had', async () => {
    writeFileSync(file, 'carol=c4rol\n')
    // the same second and size would hide a change from a stat: move the time on
    utimesSync(file, new Date(), new Date(Date.now() + 5000))
    const carol = { username: 'carol', password: 'c4rol' }
    await waitUntil(
      async () => (await auth.authorize(request({ credentials: carol }))).allowed,
      'carol let in',
    )
    assert.equal(
      (await auth.authorize(request({ credentials: { username: 'alice', password: 'wonderland' } }))).allowed,
      false,
    )
    writeFileSync(file, 'carol=\n')
    utimesSync(file, new Date(), new Date(Date.now() + 10_000))
    await waitUntil(async () => (auth.reloads()?.failures ?? 0) > 0, 'the broken file refused')
    assert.equal((await auth.authorize(request({ credentials: carol }))).allowed, true)
    assert.match(log.lines.join('\n'), /credentials file not used: the previous users stay/)
  })

  test('a missing credentials file is a ConfigError naming it', () => {
    assert.throws(
      () => new StreamAuth(init({ credentials: join(dir, 'absent') }), recordingLogger()),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError)
        assert.match(err.message, /absent.*does not exist/)
        return true
      },
    )
  })
})

describe('the cluster user', () => {
  const auth = new StreamAuth(
    init({ publish: false, play: true, validator: 'roundtrip', roundtripUrl: 'http://127.0.0.1:9/' }),
    recordingLogger(),
  )

  test('plays with a token for the stream or the cluster password; nothing else', async () => {
    const token = new ClusterTokens('clusterpw').mint('live', 'show')
    const play = (credentials: object, name = 'show') =>
      auth.authorize(
        request({ action: 'play', name, credentials: { username: CLUSTER_USER, ...credentials } }),
      )
    assert.equal((await play({ token })).allowed, true)
    assert.equal((await play({ password: 'clusterpw' })).allowed, true)
    assert.equal((await play({ token }, 'other')).allowed, false)
    assert.equal((await play({ token: new ClusterTokens('otherpw').mint('live', 'show') })).allowed, false)
    assert.equal((await play({ password: 'nope' })).allowed, false)
  })

  test('a token expires within two minutes and refuses a clock far ahead', () => {
    const tokens = new ClusterTokens('pw')
    const t0 = 1_700_000_000_000
    const token = tokens.mint('live', 'show', t0)
    assert.equal(tokens.verify(token, 'live', 'show', t0 + 60_000), true)
    assert.equal(tokens.verify(token, 'live', 'show', t0 + 121_000), false)
    assert.equal(tokens.verify(tokens.mint('live', 'show', t0 + 600_000), 'live', 'show', t0), false)
    assert.equal(tokens.verify('mc1.x.y', 'live', 'show', t0), false)
  })
})

describe('StreamAuth with the roundtrip validator', () => {
  let server: Server
  let url = ''
  const bodies: unknown[] = []
  before(async () => {
    server = createServer(async (req: IncomingMessage, res) => {
      let text = ''
      for await (const chunk of req) text += chunk
      const body = JSON.parse(text)
      bodies.push(body)
      if (body.username === 'hang') return // never answers
      if (body.username === 'broken') return res.writeHead(500).end()
      if (body.username === 'odd') return res.writeHead(200).end('yes')
      const group = body.username === 'cy' || body.username === 'dee' ? { group: 'studio' } : {}
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ result: ['ann', 'cy', 'dee'].includes(body.username), ...group }))
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/validate`
  })
  after(() => {
    server.closeAllConnections()
    server.close()
  })

  test('asks with Red5 Pro’s body and follows the answer; a hang, a 500 or an odd body is a refusal', async () => {
    const auth = new StreamAuth(
      init({ validator: 'roundtrip', roundtripUrl: url, roundtripTimeoutMs: 300 }),
      recordingLogger(),
    )
    const as = (username: string) =>
      auth.authorize(request({ credentials: { username, password: 'p', token: 't' }, clientIp: '127.0.0.5' }))
    const ann = await as('ann')
    assert.equal(ann.allowed && ann.user, 'ann')
    assert.deepEqual(bodies[0], {
      type: 'publisher',
      username: 'ann',
      password: 'p',
      token: 't',
      streamName: 'show',
      app: 'live',
      clientIp: '127.0.0.5',
    })
    const ben = await as('ben')
    assert.equal(!ben.allowed && ben.reason, 'not-allowed')
    const started = Date.now()
    const hang = await as('hang')
    assert.equal(!hang.allowed && hang.reason, 'validator-failed')
    assert.match(!hang.allowed ? hang.detail : '', /within 300 ms/)
    assert.ok(Date.now() - started < 2000)
    const broken = await as('broken')
    assert.match(!broken.allowed ? broken.detail : '', /HTTP 500/)
    const odd = await as('odd')
    assert.match(!odd.allowed ? odd.detail : '', /something other than/)
  })

  test('a publisher owns the stream as the group the endpoint names, or as the user', async () => {
    const auth = new StreamAuth(
      init({ validator: 'roundtrip', roundtripUrl: url, groups: [{ name: 'studio', users: ['ann'] }] }),
      recordingLogger(),
    )
    const owner = async (username: string) => {
      const v = await auth.authorize(request({ credentials: { username, password: 'p' } }))
      assert.ok(v.allowed, username)
      return v.owner
    }
    const [ann, cy, dee] = [await owner('ann'), await owner('cy'), await owner('dee')]
    assert.equal(cy, dee, 'one group named by the endpoint: one owner')
    assert.equal(ann, cy, "the endpoint's group is the configured group of that name")
    const alone = new StreamAuth(init({ validator: 'roundtrip', roundtripUrl: url }), recordingLogger())
    const v = await alone.authorize(request({ credentials: { username: 'ann', password: 'p' } }))
    assert.ok(v.allowed && v.owner !== ann, 'ann in no group here: owns as herself')
  })

  test('an unreachable endpoint is a refusal, not an exception', async () => {
    const auth = new StreamAuth(
      init({ validator: 'roundtrip', roundtripUrl: 'http://127.0.0.1:9/x' }),
      recordingLogger(),
    )
    const v = await auth.authorize(request({ credentials: { username: 'ann', password: 'p' } }))
    assert.equal(!v.allowed && v.reason, 'validator-failed')
  })
})

/** How often `waitUntil` looks again: a reload is one stat and one read of a small file. */
const WAIT_POLL_MS = 20

/** Polls `check` until it is true: the wait for a condition, never a fixed sleep. */
async function waitUntil(check: () => Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, WAIT_POLL_MS))
  }
}
