import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { createLogger } from '../src/logging.ts'

/** Captures what the logger writes to stderr while `fn` runs. */
async function captureStderr(fn: () => void): Promise<string> {
  const original = process.stderr.write.bind(process.stderr)
  let out = ''
  process.stderr.write = ((chunk: string | Uint8Array) => {
    out += String(chunk)
    return true
  }) as typeof process.stderr.write
  try {
    fn()
    await new Promise((r) => setImmediate(r))
  } finally {
    process.stderr.write = original
  }
  return out
}

describe('createLogger', () => {
  test('pretty lines carry time, level, component and fields', async () => {
    const out = await captureStderr(() => {
      const log = createLogger({ level: 'info', format: 'pretty', colors: false }).child({
        component: 'media',
      })
      log.info('publish', { path: '/live/a', remote: '1.2.3.4:5' })
      log.debug('hidden below the level')
    })
    assert.match(out, /^\d\d:\d\d:\d\d\.\d{3} info \[media\] publish path=\/live\/a remote=1\.2\.3\.4:5\n$/)
  })

  test('json lines are one object each', async () => {
    const out = await captureStderr(() => {
      createLogger({ level: 'debug', format: 'json' }).debug('hello', { n: 1 })
    })
    const record = JSON.parse(out) as Record<string, unknown>
    assert.equal(record.message, 'hello')
    assert.equal(record.level, 'debug')
    assert.equal(record.n, 1)
    assert.equal(typeof record.timestamp, 'string')
  })
})
