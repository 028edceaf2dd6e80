import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ConfigError } from '@meshcast/interface'
import { InvalidValueError, isWildcardHost, parseHost, parseOriginAddress } from '../src/index.ts'

describe('parseOriginAddress', () => {
  it('gives an IPv4 address without a port the RTMP port 1935', () => {
    assert.deepEqual(parseOriginAddress('203.0.113.10'), {
      host: '203.0.113.10',
      port: 1935,
      text: '203.0.113.10',
    })
  })

  it('reads an IPv4 address with a port', () => {
    assert.deepEqual(parseOriginAddress(' 203.0.113.10:1936 '), {
      host: '203.0.113.10',
      port: 1936,
      text: '203.0.113.10:1936',
    })
  })

  it('reads IPv6 addresses in brackets, keeping the host without brackets', () => {
    assert.deepEqual(parseOriginAddress('[::1]'), { host: '::1', port: 1935, text: '[::1]' })
    assert.deepEqual(parseOriginAddress('[2001:db8::1]:1936'), {
      host: '2001:db8::1',
      port: 1936,
      text: '[2001:db8::1]:1936',
    })
  })

  it('reads DNS names with and without a port', () => {
    assert.deepEqual(parseOriginAddress('origin-1.example.com'), {
      host: 'origin-1.example.com',
      port: 1935,
      text: 'origin-1.example.com',
    })
    assert.deepEqual(parseOriginAddress('localhost:1940'), {
      host: 'localhost',
      port: 1940,
      text: 'localhost:1940',
    })
  })

  it('rejects a bare IPv6 address, telling to use brackets', () => {
    assert.throws(() => parseOriginAddress('2001:db8::1'), {
      name: 'InvalidValueError',
      message: /brackets.*\[2001:db8::1\]/,
    })
    assert.throws(() => parseOriginAddress('::1'), { message: /brackets/ })
  })

  it('rejects a bad port, naming it', () => {
    assert.throws(() => parseOriginAddress('203.0.113.10:0'), { message: /invalid port "0".*1 to 65535/ })
    assert.throws(() => parseOriginAddress('[::1]:99999'), { message: /invalid port "99999"/ })
    assert.throws(() => parseOriginAddress('203.0.113.10:'), { message: /invalid port ""/ })
    assert.throws(() => parseOriginAddress('origin.example.com:rtmp'), { message: /invalid port "rtmp"/ })
  })

  it('rejects a wildcard address, which names no node', () => {
    assert.throws(() => parseOriginAddress('0.0.0.0'), { message: /wildcard/ })
    assert.throws(() => parseOriginAddress('[::]:1935'), { message: /wildcard/ })
  })

  const invalid = [
    '',
    '203.0.113.999',
    '203.0.113',
    'bad_host.example.com',
    '-origin.example.com',
    'origin-.example.com',
    'origin..example.com',
    `${'a'.repeat(64)}.example.com`,
    ':1935',
    'a:b:c',
    '[203.0.113.10]',
    '[nope]:1935',
    'http://203.0.113.10',
  ]
  for (const text of invalid) {
    it(`rejects ${JSON.stringify(text)} with a plain InvalidValueError`, () => {
      assert.throws(
        () => parseOriginAddress(text),
        (err) =>
          err instanceof InvalidValueError &&
          !(err instanceof ConfigError) &&
          /e\.g\.|port/.test(err.message),
      )
    })
  }
})

describe('parseHost', () => {
  it('accepts IPv4, IPv6 (brackets optional) and DNS names, returning the host without brackets', () => {
    assert.equal(parseHost('0.0.0.0'), '0.0.0.0')
    assert.equal(parseHost('::'), '::')
    assert.equal(parseHost('[2001:db8::1]'), '2001:db8::1')
    assert.equal(parseHost(' node1.example.com '), 'node1.example.com')
  })

  for (const text of ['', '203.0.113.256', 'not an ip', '[node.example.com]', '203.0.113.10:1935']) {
    it(`rejects ${JSON.stringify(text)}, listing what an address can be`, () => {
      assert.throws(() => parseHost(text), { name: 'InvalidValueError', message: /IPv4.*IPv6.*DNS name/ })
    })
  }
})

describe('isWildcardHost', () => {
  it('knows 0.0.0.0 and every spelling of ::', () => {
    assert.equal(isWildcardHost('0.0.0.0'), true)
    assert.equal(isWildcardHost('::'), true)
    assert.equal(isWildcardHost('0:0::0'), true)
    assert.equal(isWildcardHost('127.0.0.1'), false)
    assert.equal(isWildcardHost('::1'), false)
  })
})
