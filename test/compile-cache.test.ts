import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { waitFor, withCluster } from '@meshcast/testing'

/** What packages/node/src/trim-memory.ts logs 3 s after ready, with whether the type stripper is loaded. */
const TRIMMED_LINE = 'start-up memory trimmed'

test(
  'a first start with an empty compile cache leaves the type stripper out of the node, and marks the cache warm',
  withCluster(async (cluster) => {
    const cache = mkdtempSync(join(tmpdir(), 'meshcast-cold-cache-'))
    try {
      const node = await cluster.start({ cluster: { nodeType: 'off' }, env: { NODE_COMPILE_CACHE: cache } })
      const trimmed = await waitFor(() => node.records().find((r) => r.message === TRIMMED_LINE), {
        timeout: 20_000,
        what: 'the start-up collection',
      })
      assert.equal(trimmed.stripper, false, 'the stripper stayed in the node')
      const [versioned] = readdirSync(cache)
      assert.ok(versioned !== undefined, 'Node wrote its cache')
      assert.ok(
        readdirSync(join(cache, versioned)).some((f) => f.startsWith('meshcast-')),
        'the launcher marked the cache warm for this install',
      )
    } finally {
      rmSync(cache, { recursive: true, force: true })
    }
  }),
)
