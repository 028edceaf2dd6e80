import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { createRequire } from 'node:module'
import { test } from 'node:test'

// The cipher @libp2p/pnet uses, as pnet itself loads it (patched: patches/xsalsa20@1.2.0.patch).
const xsalsa20 = createRequire(import.meta.resolve('@libp2p/pnet'))('xsalsa20') as (
  nonce: Uint8Array,
  key: Uint8Array,
) => { update(input: Uint8Array, output?: Uint8Array): Uint8Array; finalize(): void }

test('a pnet cipher keeps working after another one grew the shared WASM memory', () => {
  const key = randomBytes(32)
  const nonce = randomBytes(24)
  const early = xsalsa20(nonce, key)
  const reference = xsalsa20(nonce, key)
  // A large update on a second instance grows the memory every instance shares,
  // detaching the first one's view of it (unpatched: every later call grew it
  // again until "Maximum memory size exceeded" killed the node).
  xsalsa20(randomBytes(24), randomBytes(32)).update(new Uint8Array(8 * 1024 * 1024))
  const data = randomBytes(64 * 1024)
  for (let i = 0; i < 200; i++) {
    const out = early.update(data)
    assert.equal(out.length, data.length)
    assert.deepEqual(Buffer.from(out), Buffer.from(reference.update(data)), `round ${i}: same keystream`)
  }
  early.finalize()
  reference.finalize()
})
