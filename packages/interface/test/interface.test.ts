import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { ConfigError, formatAddress, ListenError, SafeEmitter } from '../src/index.ts'

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
