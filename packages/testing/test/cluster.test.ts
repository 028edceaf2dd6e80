import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { TestCluster, waitFor, withCluster } from '../src/index.ts'

describe('TestCluster', () => {
  test(
    'starts several nodes at once, each on its own loopback address with the default ports',
    withCluster(async (cluster) => {
      const nodes = await cluster.startMany(3, { cluster: { nodeType: 'off' } })
      const hosts = nodes.map((n) => n.host)
      assert.equal(new Set(hosts).size, 3)
      for (const node of nodes) {
        const status = await node.status()
        assert.equal(status.ready, true)
        assert.equal(status.listeners.rtmp?.address, `${node.host}:1935`)
        assert.equal(status.listeners.http?.address, `${node.host}:5080`)
      }
    }),
  )

  test('stopAll stops every node, also those that did not get ready', async () => {
    const cluster = new TestCluster()
    const node = await cluster.start({ cluster: { nodeType: 'off' } })
    const broken = await cluster.start({ cluster: { password: 'Bad' }, ready: false })
    await assert.rejects(broken.ready(), /exited before it was ready/)
    await cluster.stopAll()
    assert.deepEqual(node.exit, { code: 0, signal: null })
    assert.equal(broken.exit?.code, 1)
    assert.match(cluster.report(), /node-1 .*exit=\{"code":1/)
  })

  test('waitFor names what it waited for when it times out', async () => {
    await assert.rejects(
      waitFor(() => false, { timeout: 100, what: 'the moon' }),
      /timed out after 100 ms waiting for the moon/,
    )
  })
})
