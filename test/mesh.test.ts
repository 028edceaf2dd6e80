import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { type NodeProcess, type TestCluster, waitFor, withCluster } from '@meshcast/testing'

interface ViewBody {
  id: string
  coordinator: string
  members: string[]
}

async function getJson<T>(node: NodeProcess, path: string): Promise<T> {
  const res = await fetch(`${node.httpUrl}${path}`)
  assert.equal(res.status, 200, `${path} on ${node.name}`)
  return (await res.json()) as T
}

const view = (node: NodeProcess) => getJson<ViewBody>(node, '/api/view')

/** Waits until every node in `nodes` shows the same view of exactly `count` members; returns it. */
async function converged(nodes: NodeProcess[], count: number, timeout = 15_000): Promise<ViewBody> {
  return await waitFor(
    async () => {
      const views = await Promise.all(nodes.map(view))
      const first = views[0] as ViewBody
      return views.every((v) => v.id === first.id && v.members.length === count) ? first : undefined
    },
    { timeout, what: `one view of ${count} members on ${nodes.length} nodes` },
  )
}

/** Waits until every node is connected to every other member (members connect once the view holds: viewHold). */
async function meshed(nodes: NodeProcess[], timeout = 15_000): Promise<void> {
  await waitFor(
    async () => {
      const lists = await Promise.all(
        nodes.map((n) => getJson<{ members: { connected: boolean }[] }>(n, '/api/members')),
      )
      const all = (l: { members: { connected: boolean }[] }) =>
        l.members.length === nodes.length && l.members.every((m) => m.connected)
      return lists.every(all) || undefined
    },
    { timeout, what: `${nodes.length} nodes connected to each other` },
  )
}

/**
 * Starts `count` more nodes at once. TestCluster seeds every node with the
 * first (mDNS stays off on loopback); the first must be up already, or the
 * others retry only after retryDuration.
 */
function startMany(cluster: TestCluster, count: number): Promise<NodeProcess[]> {
  return cluster.startMany(count)
}

/** Connections with another password `node` closed (its counter in /metrics). */
async function refusedOtherPassword(node: NodeProcess): Promise<number> {
  const text = await (await node.httpGet('/metrics')).text()
  return Number(/^meshcast_mesh_messages_dropped_total\{reason="otherPassword"\} (\d+)/m.exec(text)?.[1] ?? 0)
}

describe('the mesh: membership', () => {
  test(
    'five nodes converge to one view, in join order, with the oldest as coordinator',
    withCluster(async (cluster) => {
      const nodes = [await cluster.start(), ...(await startMany(cluster, 4))]
      const v = await converged(nodes, 5)
      const ids = await Promise.all(nodes.map(async (n) => (await n.status()).id))
      assert.equal(v.coordinator, ids[0])
      assert.equal(v.members[0], ids[0])
      assert.deepEqual(new Set(v.members), new Set(ids))
      const members = await getJson<{ viewId: string; members: Record<string, unknown>[] }>(
        nodes[2] as NodeProcess,
        '/api/members',
      )
      assert.equal(members.viewId, v.id)
      assert.equal(members.members.length, 5)
      for (const m of members.members) {
        for (const key of [
          'id',
          'role',
          'publicIp',
          'publicPort',
          'http',
          'mesh',
          'privateInstance',
          'joinedAt',
          'lastHeard',
        ])
          assert.ok(key in m, `member lacks ${key}`)
        assert.equal(m.coordinator, m.id === ids[0])
      }
      const status = (await (nodes[1] as NodeProcess).status()) as unknown as {
        mesh: Record<string, unknown>
      }
      assert.equal(status.mesh.state, 'joined')
      assert.equal(status.mesh.viewId, v.id)
    }),
  )

  test(
    'a SIGKILLed node leaves every other view, and a new view names it as left',
    withCluster(async (cluster) => {
      const nodes = [await cluster.start(), ...(await startMany(cluster, 3))]
      await converged(nodes, 4)
      const victim = nodes[2] as NodeProcess
      const victimId = (await victim.status()).id
      const killedAt = Date.now()
      victim.kill('SIGKILL')
      const rest = nodes.filter((n) => n !== victim)
      const after = await converged(rest, 3)
      process.stdout.write(
        `# SIGKILL to a view without it on 3 nodes: ${Date.now() - killedAt} ms (polled)\n`,
      )
      assert.ok(!after.members.includes(victimId))
      for (const n of rest)
        assert.ok(
          n.records().some((r) => r.message === 'new view' && JSON.stringify(r.left).includes(victimId)),
          `${n.name} logged no view naming the victim as left`,
        )
    }),
  )

  test(
    'the coordinator SIGKILLed: the next oldest takes over',
    withCluster(async (cluster) => {
      const nodes = [await cluster.start(), ...(await startMany(cluster, 2))]
      const before = await converged(nodes, 3)
      const [first, second] = before.members // join order: nodes 1 and 2 started together, either may be older
      assert.equal(first, (await (nodes[0] as NodeProcess).status()).id)
      await meshed(nodes)
      ;(nodes[0] as NodeProcess).kill('SIGKILL')
      const after = await converged(nodes.slice(1), 2)
      assert.equal(after.coordinator, second)
    }),
  )

  // The survivors know each other only through the coordinator's view: they are not connected
  // yet (viewHold), their only seed is the dead node, and mDNS is off. Before healing, most such
  // kills split them into two one-member views, some for good (bench:heal).
  for (const delayMs of [0, 300])
    test(
      `the coordinator SIGKILLed ${delayMs} ms after the others joined: the survivors become one view, with no seed left`,
      withCluster(async (cluster) => {
        const nodes = [await cluster.start(), ...(await startMany(cluster, 2))]
        await converged(nodes, 3)
        await new Promise((r) => setTimeout(r, delayMs))
        ;(nodes[0] as NodeProcess).kill('SIGKILL')
        const killedAt = Date.now()
        const after = await converged(nodes.slice(1), 2, 20_000)
        process.stdout.write(
          `# coordinator killed ${delayMs} ms after a join: one view in ${Date.now() - killedAt} ms\n`,
        )
        const ids = await Promise.all(nodes.slice(1).map(async (n) => (await n.status()).id))
        assert.deepEqual(new Set(after.members), new Set(ids))
      }),
    )

  test(
    'a node stopped with SIGTERM tells the others, which drop it without suspecting it',
    withCluster(async (cluster) => {
      const nodes = [await cluster.start(), ...(await startMany(cluster, 2))]
      await converged(nodes, 3)
      const leaver = nodes[1] as NodeProcess
      const leaverId = (await leaver.status()).id
      const exit = await leaver.stop()
      assert.equal(exit.code, 0)
      const rest = [nodes[0], nodes[2]] as NodeProcess[]
      await converged(rest, 2, 3000)
      // The coordinator is connected to every member; node 2 may not have heard node 1 yet
      // (members connect to each other once the view holds) and then just adopts the view.
      const removed = rest[0]?.records().find((r) => r.message === 'member removed' && r.peer === leaverId)
      assert.equal(removed?.why, 'left')
      for (const n of rest) {
        assert.ok(!n.records().some((r) => r.message === 'member suspected' && r.peer === leaverId))
        const left = n.records().find((r) => r.message === 'member removed' && r.peer === leaverId)
        assert.ok(left === undefined || left.why === 'left', `${n.name}: ${JSON.stringify(left)}`)
      }
    }),
  )

  test(
    'a node started later joins the running cluster with no restart of the others',
    withCluster(async (cluster) => {
      const nodes = [await cluster.start(), await cluster.start()]
      await converged(nodes, 2)
      const late = await cluster.start({ cluster: { origins: [cluster.address(0)] } })
      assert.equal((await late.status()).role, 'edge')
      await converged([...nodes, late], 3)
    }),
  )

  test(
    'a node with another password stays out, and says why once',
    withCluster(async (cluster) => {
      const [a, b] = [await cluster.start(), await cluster.start()]
      await converged([a, b] as NodeProcess[], 2)
      const stranger = await cluster.start({
        cluster: { password: 'some-other-password', origins: [cluster.address(0)], retryDuration: 1 },
      })
      await waitFor(() => stranger.records().some((r) => /not of this cluster/.test(String(r.message))), {
        what: 'the "not of this cluster" line',
      })
      // it keeps retrying every second: once the node dialled has refused three more tries, count the lines
      const refusedSoFar = await refusedOtherPassword(a as NodeProcess)
      await waitFor(async () => (await refusedOtherPassword(a as NodeProcess)) >= refusedSoFar + 3, {
        what: 'three more tries refused by the node dialled',
      })
      const lines = stranger.records().filter((r) => /not of this cluster/.test(String(r.message)))
      assert.equal(lines.length, 1, 'said once, not on every retry')
      // the node dialled closes such a connection at once, and says so (a few lines per 10 s at most)
      const refused = (a as NodeProcess).records().filter((r) => r.reason === 'otherPassword')
      assert.ok(refused.length >= 1 && refused.length <= 6, `${refused.length} lines on the node dialled`)
      assert.ok(!stranger.log().includes('    at '), 'no stack traces')
      assert.equal((await view(stranger)).members.length, 1)
      for (const n of [a, b] as NodeProcess[]) {
        assert.equal((await view(n)).members.length, 2)
        assert.ok(!n.log().includes('    at '), `no stack traces on ${n.name}`)
      }
    }),
  )
})
