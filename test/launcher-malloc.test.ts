import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { type NodeProcess, withCluster } from '@meshcast/testing'

/** The node's environment as its process has it (after the launcher's execve). */
function environment(node: NodeProcess): Map<string, string> {
  const text = readFileSync(`/proc/${node.child.pid}/environ`, 'utf8')
  return new Map(text.split('\0').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]))
}

test(
  "the launcher sets glibc's malloc for the node (two arenas, trimmed above 128 KiB) and keeps a value already set",
  withCluster(async (cluster) => {
    const plain = environment(await cluster.start({ cluster: { nodeType: 'off' } }))
    assert.equal(plain.get('MALLOC_ARENA_MAX'), '2')
    assert.equal(plain.get('MALLOC_TRIM_THRESHOLD_'), '131072')
    const given = environment(
      await cluster.start({ cluster: { nodeType: 'off' }, env: { MALLOC_ARENA_MAX: '4' } }),
    )
    assert.equal(given.get('MALLOC_ARENA_MAX'), '4')
    assert.equal(given.get('MALLOC_TRIM_THRESHOLD_'), '131072')
  }),
)
