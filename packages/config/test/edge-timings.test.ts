import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { readRed5Properties } from '../src/parse-red5-properties.ts'

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
