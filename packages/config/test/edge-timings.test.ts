import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { readRed5Properties } from '../src/red5-properties/parse-red5-properties.ts'

describe('red5.properties edge.* timings', () => {
  test('defaults, and seconds with decimals', () => {
    assert.deepEqual(readRed5Properties('', 'r.p').edge, {
      lingerSeconds: 10,
      waitSeconds: 30,
      stallSeconds: 2,
    })
    const r = readRed5Properties('edge.linger=5\nedge.wait=12\nedge.stall=0.5\n', 'r.p')
    assert.deepEqual(r.edge, { lingerSeconds: 5, waitSeconds: 12, stallSeconds: 0.5 })
    assert.deepEqual(r.problems, [])
  })

  test('a bad value is a problem naming the line; a misspelt key a warning', () => {
    const r = readRed5Properties('edge.stall=0\nedge.wait=soon\nedge.lingr=3\n', 'r.p')
    assert.deepEqual(
      r.problems.map((p) => [p.line, p.property]),
      [
        [1, 'edge.stall'],
        [2, 'edge.wait'],
      ],
    )
    assert.match(r.problems[0]?.message ?? '', /seconds/)
    assert.match(r.warnings.join('\n'), /edge\.lingr.*edge\.linger/)
  })
})

describe('red5.properties shutdown.drain', () => {
  test('3 s by default; 0 (leave at once) and decimals allowed; a negative or a word is a problem', () => {
    assert.deepEqual(readRed5Properties('', 'r.p').shutdown, { drainSeconds: 3 })
    assert.deepEqual(readRed5Properties('shutdown.drain=0\n', 'r.p').shutdown, { drainSeconds: 0 })
    assert.deepEqual(readRed5Properties('shutdown.drain=1.5\n', 'r.p').shutdown, { drainSeconds: 1.5 })
    const r = readRed5Properties('shutdown.drain=-1\n', 'r.p')
    assert.deepEqual(
      r.problems.map((p) => [p.line, p.property, p.value]),
      [[1, 'shutdown.drain', '-1']],
    )
    assert.match(r.problems[0]?.message ?? '', /from 0 to 86400/)
    assert.equal(readRed5Properties('shutdown.drain=soon\n', 'r.p').problems.length, 1)
    assert.match(readRed5Properties('shutdown.drian=2\n', 'r.p').warnings.join('\n'), /shutdown\.drain/)
  })
})

describe('red5.properties connection limits', () => {
  test('defaults: 10 s setup, 60000 ms inactivity (Red5 unit), 1000 per address, 64 setting up, 256 HTTP', () => {
    const r = readRed5Properties('', 'r.p')
    assert.deepEqual(r.rtmpLimits, {
      setupSeconds: 10,
      inactivityMs: 60_000,
      connectionsPerIp: 1000,
      pendingPerIp: 64,
      chunkRate: 50_000,
    })
    assert.deepEqual(r.httpLimits, { connectionsPerIp: 256, requestRate: 200 })
    assert.deepEqual(r.meshLimits, { connectionsPerIp: 64, pendingPerIp: 16 })
  })

  test('whole numbers, 0 for no limit; a fraction, a word or a negative is a problem naming the key', () => {
    const ok = readRed5Properties(
      'rtmp.max_inactivity=0\nrtmp.max_connections_per_ip=5\nrtmp.max_pending_per_ip=2\nhttp.max_connections_per_ip=0\n' +
        'mesh.max_connections_per_ip=0\nmesh.max_pending_per_ip=4\nrtmp.max_chunk_rate=0\nhttp.max_request_rate=0\n',
      'r.p',
    )
    assert.deepEqual(ok.problems, [])
    assert.deepEqual(ok.rtmpLimits, {
      setupSeconds: 10,
      inactivityMs: 0,
      connectionsPerIp: 5,
      pendingPerIp: 2,
      chunkRate: 0,
    })
    assert.deepEqual(ok.httpLimits, { connectionsPerIp: 0, requestRate: 0 })
    assert.deepEqual(ok.meshLimits, { connectionsPerIp: 0, pendingPerIp: 4 })
    const bad = readRed5Properties(
      'rtmp.max_inactivity=1.5\nrtmp.max_connections_per_ip=many\nhttp.max_connections_per_ip=-1\nmesh.max_pending_per_ip=x\n' +
        'http.max_request_rate=fast\n',
      'r.p',
    )
    assert.deepEqual(
      bad.problems.map((p) => [p.line, p.property]),
      [
        [1, 'rtmp.max_inactivity'],
        [2, 'rtmp.max_connections_per_ip'],
        [3, 'http.max_connections_per_ip'],
        [4, 'mesh.max_pending_per_ip'],
        [5, 'http.max_request_rate'],
      ],
    )
    assert.match(bad.problems[0]?.message ?? '', /whole number of|whole number from 0/)
  })
})
