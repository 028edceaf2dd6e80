// DNS discovery on a real LAN: dnsmasq in one host's namespace answers for
// a name with one A record per replica, and every host resolves through it
// (its own resolv.conf, which `ip netns exec` mounts). Needs root and
// dnsmasq (CI provides both; under CI=true a missing one fails the test).
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  Dnsmasq,
  dnsmasqMissing,
  type NetnsLan,
  type NodeProcess,
  publish,
  type StreamsBody,
  skipOrFailWithoutDnsmasq,
  waitFor,
  withLan,
} from '@meshcast/testing'

/** seconds: how often a node looks its seeds' names up again */
const RETRY_SECONDS = 3
const REPLICAS = 'replicas.meshcast.test'
const ORIGINS = 'origins.meshcast.test'

const viewOf = async (node: NodeProcess) =>
  (await (await node.httpGet('/api/view')).json()) as { id: string; members: string[] }

/** Waits until every node has one view of exactly them all; returns when (ms since the epoch). */
async function oneView(nodes: readonly NodeProcess[], what: string, timeout: number): Promise<number> {
  return await waitFor(
    async () => {
      const views = await Promise.all(nodes.map(viewOf))
      const first = views[0]
      const same = views.every((v) => v.id === first?.id && v.members.length === nodes.length)
      return same ? Date.now() : undefined
    },
    { timeout, interval: 50, what },
  )
}

/** dnsmasq on host 0, every host resolving through it; skipped (or failed in CI) without dnsmasq. */
async function dnsOn(lan: NetnsLan, records: Record<string, string[]>, t: test.TestContext) {
  const reason = dnsmasqMissing()
  if (reason !== null) {
    skipOrFailWithoutDnsmasq(reason, t)
    return null
  }
  const dns = await Dnsmasq.start(lan, 0, records)
  t.after(() => dns.stop())
  for (let i = 0; i < lan.hostCount; i++) lan.useNameservers(i, [dns.address])
  return dns
}

/** Runs `body`, printing dnsmasq's log (its queries) should it fail. */
async function reporting(dns: Dnsmasq, body: () => Promise<void>): Promise<void> {
  try {
    await body()
  } catch (err) {
    process.stdout.write(`${dns.report()}\n`)
    throw err
  }
}

const noMdns = { 'mesh.mdns': 'false' }

describe('DNS discovery', () => {
  test(
    'a mesh.peers name with three A records brings three nodes into one view; a record added brings a fourth within retryDuration',
    withLan(4, async (cluster, lan, t) => {
      const addr = (i: number) => lan.address(i)
      const dns = await dnsOn(lan, { [REPLICAS]: [addr(0), addr(1), addr(2)] }, t)
      if (dns === null) return
      await reporting(dns, async () => {
        const retry = { retryDuration: RETRY_SECONDS }
        // nodes 0 and 1 know nobody: each leads a cluster of its own until someone dials it
        const n0 = await cluster.start({ name: 'replica-0', cluster: retry, properties: noMdns })
        const n1 = await cluster.start({ name: 'replica-1', cluster: retry, properties: noMdns })
        // node 2 has the name: it must dial every address behind it (and not itself) to bring both in
        const n2 = await cluster.start({
          name: 'replica-2',
          cluster: retry,
          properties: { ...noMdns, 'mesh.peers': REPLICAS },
        })
        await oneView([n0, n1, n2], 'one view of the three replicas', 10_000)
        assert.ok(
          n2
            .records()
            .some((r) => r.message === `mesh seed ${REPLICAS} resolves to ${[0, 1, 2].map(addr).join(', ')}`),
        )

        // members are named by their real addresses, never the name they were found by
        const members = (await (await n2.httpGet('/api/members')).json()) as { members: { mesh: string }[] }
        assert.deepEqual(
          members.members.map((m) => m.mesh).sort(),
          [0, 1, 2].map((i) => `${addr(i)}:7800`).sort(),
        )
        const routed = await (await n2.httpGet('/cluster')).text()
        assert.ok([0, 1, 2].map((i) => `${addr(i)}:1935`).includes(routed), `/cluster named ${routed}`)

        // a fourth replica that knows nobody; its record appears: node 2 looks the name up again and dials it
        const n3 = await cluster.start({ name: 'replica-3', cluster: retry, properties: noMdns })
        await dns.setRecords({ [REPLICAS]: [addr(0), addr(1), addr(2), addr(3)] })
        const added = Date.now()
        const joined = await oneView(
          [n0, n1, n2, n3],
          'one view of four replicas',
          RETRY_SECONDS * 1000 + 5000,
        )
        const ms = joined - added
        process.stdout.write(
          `# a DNS record added: the node in every view ${ms} ms later (retryDuration ${RETRY_SECONDS} s)\n`,
        )
        assert.ok(ms < RETRY_SECONDS * 1000 + 2000, `${ms} ms`)
      })
    }),
  )

  test(
    'an edge whose origins entry is a DNS name prefers the origins its records point to over an unlisted one',
    withLan(4, async (cluster, lan, t) => {
      const addr = (i: number) => lan.address(i)
      // origins 0 and 1 are behind the name; origin 2 is not
      const dns = await dnsOn(lan, { [ORIGINS]: [addr(0), addr(1)] }, t)
      if (dns === null) return
      await reporting(dns, async () => {
        const o0 = await cluster.start({ name: 'origin-0', properties: noMdns })
        const o1 = await cluster.start({ name: 'origin-1', properties: { ...noMdns, 'mesh.peers': addr(0) } })
        const o2 = await cluster.start({ name: 'origin-2', properties: { ...noMdns, 'mesh.peers': addr(0) } })
        const edge = await cluster.start({
          name: 'edge',
          cluster: { origins: [ORIGINS] },
          properties: noMdns,
        })
        await oneView([o0, o1, o2, edge], 'one view of the origins and the edge', 10_000)
        const o1Id = (await o1.status()).id
        const edgeId = (await edge.status()).id
        // the unlisted origin has the stream first, so without the name matched it would win (the older advert)
        const wrap = (i: number) => (argv: string[]) => lan.wrap(i, argv)
        const p2 = await publish(`rtmp://${addr(2)}:1935/live/dns`, { seconds: 60, wrap: wrap(2) })
        t.after(() => p2.stop())
        const p1 = await publish(`rtmp://${addr(1)}:1935/live/dns`, { seconds: 60, wrap: wrap(1) })
        t.after(() => p1.stop())
        await waitFor(
          async () => {
            const body = (await (await edge.httpGet('/api/streams')).json()) as StreamsBody
            const mine = body.streams
              .find((s) => s.path === '/live/dns')
              ?.carriers.find((c) => c.node === edgeId)
            return mine?.via[0] === o1Id || undefined
          },
          { timeout: 15_000, what: 'the edge to pull from origin-1, which the name points to' },
        )
        assert.ok(
          edge.records().some((r) => r.message === `origin ${ORIGINS} resolves to ${addr(0)}, ${addr(1)}`),
        )
      })
    }),
  )
})
