import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  BurstLog,
  ConfigError,
  formatAddress,
  isAddressed,
  isBusName,
  isEdgeRole,
  isStreamPath,
  ListenError,
  PerAddress,
  parseMethodName,
  type Role,
  SafeEmitter,
} from '../src/index.ts'

describe('SafeEmitter', () => {
  test('a throwing listener is reported and the others still run', () => {
    const reported: unknown[] = []
    const events = new SafeEmitter<{ tick: number }>((err, event) => reported.push([String(err), event]))
    const seen: number[] = []
    events.on('tick', () => {
      throw new Error('boom')
    })
    events.on('tick', (n) => seen.push(n))
    events.emit('tick', 7)
    assert.deepEqual(seen, [7])
    assert.deepEqual(reported, [['Error: boom', 'tick']])
  })

  test('the function returned by on() removes the listener', () => {
    const events = new SafeEmitter<{ tick: number }>(() => {})
    const seen: number[] = []
    const off = events.on('tick', (n) => seen.push(n))
    events.emit('tick', 1)
    off()
    events.emit('tick', 2)
    assert.deepEqual(seen, [1])
    assert.equal(events.listenerCount('tick'), 0)
  })
})

describe('errors', () => {
  test('ConfigError lists every problem with file, line, property and value', () => {
    const err = new ConfigError([
      {
        file: 'conf/cluster.xml',
        line: 9,
        property: 'password',
        value: 'Secret',
        message: 'has capital letters',
      },
      { file: 'command line', property: '--http-port', value: '0', message: 'is not a valid port' },
    ])
    assert.equal(err.name, 'ConfigError')
    assert.equal(
      err.message,
      [
        'invalid configuration (2 problems):',
        '  - conf/cluster.xml:9: property "password" (value "Secret") has capital letters',
        '  - command line: property "--http-port" (value "0") is not a valid port',
      ].join('\n'),
    )
    assert.equal(err.problems.length, 2)
  })

  test('ListenError says in words why the address cannot be bound', () => {
    const cause = Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE' })
    const err = new ListenError('RTMP', '127.0.0.1:1935', cause)
    assert.equal(err.name, 'ListenError')
    assert.equal(err.code, 'EADDRINUSE')
    assert.equal(err.cause, cause)
    assert.match(err.message, /^RTMP listener cannot bind 127\.0\.0\.1:1935: the address is already in use/)
  })

  test('formatAddress brackets IPv6 hosts', () => {
    assert.equal(formatAddress({ host: '::1', port: 1935 }), '[::1]:1935')
    assert.equal(formatAddress({ host: 'edge-1.example', port: 5080 }), 'edge-1.example:5080')
  })
})

describe('PerAddress', () => {
  test('caps each address on its own; a place given back can be taken again; IPv4-mapped is one host', () => {
    const caps = new PerAddress(2)
    assert.ok(caps.take('10.0.0.1'))
    assert.ok(caps.take('::ffff:10.0.0.1'))
    assert.equal(caps.take('10.0.0.1'), false, 'the third is refused')
    assert.ok(caps.take('10.0.0.2'), 'another address is not')
    caps.give('10.0.0.1')
    assert.equal(caps.held('10.0.0.1'), 1)
    assert.ok(caps.take('10.0.0.1'))
  })

  test('a cap of 0 refuses nothing', () => {
    const none = new PerAddress(0)
    for (let i = 0; i < 100; i++) assert.ok(none.take('10.0.0.1'))
  })
})

describe('BurstLog', () => {
  test('logs the first event of a kind at once and the rest of a burst as one line with their number', () => {
    const lines: { message: string; fields: Record<string, unknown> }[] = []
    const log = {
      warn: (message: string, fields: Record<string, unknown> = {}) => lines.push({ message, fields }),
    } as unknown as ConstructorParameters<typeof BurstLog>[0]
    const burst = new BurstLog(log, ['a', 'b'] as const, { one: 'one closed', many: 'many closed' })
    for (let i = 0; i < 1000; i++) burst.event('a', 'why', '10.0.0.1', 1000 + i)
    burst.event('b', 'why', '10.0.0.1', 2000)
    burst.stop()
    assert.deepEqual(burst.counts, { a: 1000, b: 1 })
    assert.deepEqual(
      lines.map((l) => [l.message, l.fields.kind, l.fields.connections]),
      [
        ['one closed', 'a', undefined],
        ['one closed', 'b', undefined],
        ['many closed', 'a', 999],
      ],
    )
  })
})

describe('roles, bus targets and stream paths', () => {
  test('edges and relays are edge roles; each target names whom it says', () => {
    const roles: Role[] = ['origin', 'edge', 'relay', 'standalone']
    assert.deepEqual(roles.filter(isEdgeRole), ['edge', 'relay'])
    const named = (target: Parameters<typeof isAddressed>[0]) =>
      roles.filter((role, i) => isAddressed(target, `n${i}`, role))
    assert.deepEqual(named({ to: 'all' }), roles)
    assert.deepEqual(named({ to: 'origins' }), ['origin'])
    assert.deepEqual(named({ to: 'edges' }), ['edge', 'relay'])
    assert.deepEqual(named({ to: 'node', id: 'n2' }), ['relay'])
    assert.deepEqual(named({ to: 'allBut', ids: ['n0', 'n3'] }), ['edge', 'relay'])
  })

  test('a stream path is /app/name of names node-media-server accepts', () => {
    assert.equal(isStreamPath('/live/cam-1_HD'), true)
    assert.equal(isStreamPath(`/${'a'.repeat(128)}/${'b'.repeat(128)}`), true)
    for (const p of [
      '/live/cam.v2',
      '/live/a~x',
      `/live/${'a'.repeat(129)}`,
      'live/a',
      '/live/a/b',
      '/live/',
      '',
    ])
      assert.equal(isStreamPath(p), false, p)
  })
})

describe('bus names', () => {
  test('channel, handler and state names; handler.method split at the last dot', () => {
    assert.equal(isBusName('chat:room/1.a-b_c'), true)
    for (const bad of ['', 'a b', 'x'.repeat(129), 'é', 'a$b']) assert.equal(isBusName(bad), false, bad)
    assert.deepEqual(parseMethodName('chat.rooms.list'), { handler: 'chat.rooms', method: 'list' })
    assert.deepEqual(parseMethodName('h.$get_1'), { handler: 'h', method: '$get_1' })
    for (const bad of ['list', '.list', 'h.', 'h.a-b', `h.${'m'.repeat(129)}`])
      assert.equal(parseMethodName(bad), null, bad)
  })
})
