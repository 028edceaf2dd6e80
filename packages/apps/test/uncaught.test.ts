import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { FIXTURES } from './helpers.ts'

function runChild(mode: string) {
  return spawnSync(process.execPath, [join(FIXTURES, 'uncaught-child.ts'), mode], {
    encoding: 'utf8',
    timeout: 20_000,
  })
}

describe('errors that escape every callback (catchApplicationErrors)', () => {
  for (const [mode, error] of [
    ['uncaught', 'boom, uncaught'],
    ['rejection', 'boom, unhandled rejection'],
  ] as const) {
    test(`an app's ${mode === 'uncaught' ? 'uncaught exception' : 'unhandled rejection'} fails that app only; the process lives`, () => {
      const r = runChild(mode)
      assert.equal(r.status, 0, r.stderr)
      const out = JSON.parse(r.stdout) as { states: [string, string][]; failures: unknown[] }
      assert.deepEqual(out.states, [
        ['bad', 'failed'],
        ['good', 'running'],
      ])
      assert.deepEqual(out.failures, [{ app: 'bad', during: 'uncaught', error }])
    })
  }

  test("an error of the node's own still ends the process, as Node would", () => {
    const r = runChild('node')
    assert.equal(r.status, 1)
    assert.match(r.stderr, /Error: a bug of the node itself/)
  })
})
