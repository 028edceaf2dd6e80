import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url))

test("the daemon's modules load neither undici nor http2 (an ESM import of node:http does)", () => {
  // a fresh process: what loading every module of `meshcast` pulls in, nothing else
  const script = `await import(${JSON.stringify(CLI)});
    console.log(JSON.stringify(process.moduleLoadList.filter((m) => /undici|http2/.test(m))))`
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })
  assert.deepEqual(JSON.parse(out.trim().split('\n').at(-1) ?? '[]'), [])
})
