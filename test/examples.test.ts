// The configuration examples under examples/, run for real: each node of an
// example from a copy of its conf folder, moved to a fresh loopback subnet and
// a password of its own (tests run side by side and must not meet), or for the
// zero-config LAN example as shipped, in network namespaces.
import assert from 'node:assert/strict'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, type TestContext, test } from 'node:test'
import { spawnFfmpeg } from '@meshcast/node/ffmpeg'
import {
  assertMonotonic,
  carrierOn,
  longestGap,
  loopbackSubnet,
  type NetnsLan,
  NodeProcess,
  Publisher,
  play,
  publish,
  uniquePassword,
  type Wrap,
  waitFor,
  withLan,
} from '@meshcast/testing'
// not a dependency of the workspace root: imported from its source, as the benchmarks do
import { CLUSTER_XML, loadConfig, type NodeConfig, RED5_PROPERTIES } from '../packages/config/src/index.ts'

const EXAMPLES = join(import.meta.dirname, '..', 'examples')

type Role = NodeConfig['role']

interface Example {
  name: string
  /** the loopback /24 its files use (`127.0.1.`), or null for one with default addresses */
  prefix: string | null
  /** node folder → role, in start order (origins first, then relays, then edges) */
  nodes: Record<string, Role>
}

const ORIGIN_EDGE: Example = {
  name: 'origin-edge',
  prefix: '127.0.1.',
  nodes: { origin: 'origin', edge: 'edge' },
}
const MULTI_ORIGIN: Example = {
  name: 'multi-origin',
  prefix: '127.0.2.',
  nodes: { 'origin-a': 'origin', 'origin-b': 'origin', 'edge-1': 'edge', 'edge-2': 'edge' },
}
const RELAY_CHAIN: Example = {
  name: 'relay-chain',
  prefix: '127.0.3.',
  nodes: { origin: 'origin', relay: 'relay', edge: 'edge' },
}
const ZERO_CONFIG_LAN: Example = {
  name: 'zero-config-lan',
  prefix: null,
  nodes: { origin: 'origin', edge: 'edge' },
}
const ALL = [ORIGIN_EDGE, MULTI_ORIGIN, RELAY_CHAIN, ZERO_CONFIG_LAN]

const START_ORDER: Record<Role, number> = { origin: 0, standalone: 0, relay: 1, edge: 2 }

/** How many log lines of each node a failure prints. */
const REPORT_TAIL_LINES = 150

const PASSWORD_PROPERTY = /(<property\s+name="password"\s+value=")[^"]*(")/

/** A running example: its nodes by folder name, and how to reach each. */
interface Running {
  node(name: string): NodeProcess
  /** the address other machines reach node `name` at (its RTMP and HTTP host) */
  address(name: string): string
  /** runs a program (ffmpeg) where node `name` runs: on the LAN host, or here */
  wrap(name: string): Wrap | undefined
  /** runs at teardown, before the nodes stop (publishers) */
  defer(fn: () => Promise<unknown>): void
}

/** The folders of an example that hold a node's conf (a cluster.xml). */
function nodeFolders(example: string): string[] {
  const dir = join(EXAMPLES, example)
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(dir, d.name, CLUSTER_XML)))
    .map((d) => d.name)
    .sort()
}

/** Every example folder that is a cluster (has node folders), as opposed to an application. */
function clusterExamples(): string[] {
  return readdirSync(EXAMPLES, { withFileTypes: true })
    .filter((d) => d.isDirectory() && nodeFolders(d.name).length > 0)
    .map((d) => d.name)
    .sort()
}

/**
 * Copies an example's node folders to a temp dir, the files passed through
 * `rewrite`; returns the copy (laid out as examples/<name>/<node>/).
 */
function copyExample(example: Example, rewrite: (text: string) => string): string {
  const root = mkdtempSync(join(tmpdir(), `meshcast-example-${example.name}-`))
  for (const node of Object.keys(example.nodes)) {
    mkdirSync(join(root, node))
    for (const file of [CLUSTER_XML, RED5_PROPERTIES]) {
      const from = join(EXAMPLES, example.name, node, file)
      if (existsSync(from)) writeFileSync(join(root, node, file), rewrite(readFileSync(from, 'utf8')))
    }
  }
  return root
}

/** A rewrite giving the cluster `password`, and (for a loopback example) moving its /24 to `subnet`. */
function rewriter(example: Example, password: string, subnet: ((i: number) => string) | null) {
  return (text: string): string => {
    let out = text
    if (PASSWORD_PROPERTY.test(out)) out = out.replace(PASSWORD_PROPERTY, `$1${password}$2`)
    if (example.prefix !== null && subnet !== null) {
      const prefix = new RegExp(`\\b${example.prefix.replaceAll('.', '\\.')}(\\d+)\\b`, 'g')
      // subnet(i) is <subnet>.(i+2): keep each address's last byte
      out = out.replace(prefix, (_, last: string) => subnet(Number(last) - 2))
    }
    return out
  }
}

const idOf = async (node: NodeProcess) => (await node.status()).id
const viewSize = async (node: NodeProcess) =>
  ((await (await node.httpGet('/api/view')).json()) as { members: string[] }).members.length

/** Waits until `node` pulls `path` through exactly `via` (ids, nearest upstream first). */
async function pullsThrough(node: NodeProcess, path: string, via: string[], what: string): Promise<void> {
  await waitFor(
    async () => {
      const c = await carrierOn(node, path)
      return c !== undefined && c.via.length === via.length && c.via.every((v, i) => v === via[i])
    },
    { timeout: 20_000, what },
  )
}

/** Whether the node has logged a player starting on `path`. */
const playing = (node: NodeProcess, path: string) =>
  node.records().some((r) => r.message === 'play' && r.path === path)

/**
 * Runs an example: copies its conf folders (a fresh loopback subnet unless on
 * `lan`, and a unique password), starts every node (origins, then relays,
 * then edges, each group once the previous is ready), and gives the body the
 * running nodes. Prints every node's log when the body fails or the test is
 * cancelled; always stops the nodes and removes the copy.
 */
async function runExample(
  t: TestContext,
  example: Example,
  body: (run: Running) => Promise<void>,
  lan?: NetnsLan,
): Promise<void> {
  const password = uniquePassword()
  const subnet = lan === undefined ? loopbackSubnet() : null
  const root = copyExample(example, rewriter(example, password, subnet))
  const names = Object.keys(example.nodes)
  const nodes = new Map<string, NodeProcess>()
  const deferred: (() => Promise<unknown>)[] = []
  const hostIndex = (name: string) => names.indexOf(name)
  const address = (name: string): string => {
    if (lan !== undefined) return lan.address(hostIndex(name))
    const node = nodes.get(name)
    if (node === undefined) throw new RangeError(`no node ${name}`)
    return node.host
  }
  const run: Running = {
    node(name) {
      const node = nodes.get(name)
      if (node === undefined) throw new RangeError(`no node ${name} in ${example.name}`)
      return node
    },
    address,
    wrap: (name) => (lan === undefined ? undefined : (argv) => lan.wrap(hostIndex(name), argv)),
    defer: (fn) => deferred.push(fn),
  }
  const report = () =>
    [...nodes.entries()]
      .map(([name, n]) => {
        const lines = n.log().split('\n').slice(-REPORT_TAIL_LINES).join('\n')
        return `----- ${example.name}/${name} (${n.host}) exit=${JSON.stringify(n.exit)} -----\n${lines}`
      })
      .join('\n')
  let tornDown: Promise<void> | undefined
  const teardown = () => {
    tornDown ??= (async () => {
      await Promise.allSettled(deferred.splice(0).map((fn) => fn()))
      await Promise.all([...nodes.values()].map((n) => n.stop()))
      rmSync(root, { recursive: true, force: true })
    })()
    return tornDown
  }
  const onAbort = () => {
    process.stderr.write(`\ntest cancelled; logs:\n${report()}\n`)
    void teardown()
  }
  t.signal.addEventListener('abort', onAbort, { once: true })
  try {
    const configs = new Map(names.map((name) => [name, loadConfig(join(root, name))]))
    for (const [name, config] of configs) {
      assert.equal(config.cluster.password, password, `${name}: the copy has the test's password`)
      assert.deepEqual(config.warnings, [], `${name}: the copy loads without warnings`)
    }
    if (subnet !== null) {
      const moved = subnet(0).replace(/\d+$/, '')
      for (const [name, c] of configs)
        for (const host of [c.cluster.publicIp, c.http.host, c.rtmp.host, c.mesh.host])
          assert.ok(host.startsWith(moved), `${name}: ${host} moved to ${moved}0/24`)
    }
    const ranks = [...new Set(names.map((n) => START_ORDER[example.nodes[n] as Role]))].sort((x, y) => x - y)
    for (const rank of ranks) {
      const group = names.filter((n) => START_ORDER[example.nodes[n] as Role] === rank)
      for (const name of group) {
        const config = configs.get(name) as NodeConfig
        const i = hostIndex(name)
        nodes.set(
          name,
          new NodeProcess({
            name,
            conf: join(root, name),
            // as the files say: on the LAN that is 0.0.0.0 (the example's defaults)
            host: config.rtmp.host,
            ...(lan === undefined
              ? {}
              : {
                  wrap: (argv: string[]) => lan.wrap(i, argv),
                  fetch: (url: string) => lan.fetch(i, url.replace('//0.0.0.0:', `//${lan.address(i)}:`)),
                }),
          }),
        )
      }
      await Promise.all(group.map((name) => run.node(name).ready()))
    }
    await body(run)
  } catch (err) {
    process.stderr.write(`\n${report()}\n`)
    throw err
  } finally {
    t.signal.removeEventListener('abort', onAbort)
    await teardown()
  }
}

/** A test-pattern publisher to node `name` at `path`, stopped at teardown. */
async function publishTo(run: Running, name: string, path: string) {
  const wrap = run.wrap(name)
  const publisher = await publish(`rtmp://${run.address(name)}:1935${path}`, {
    seconds: 120,
    ...(wrap === undefined ? {} : { wrap }),
  })
  run.defer(() => publisher.stop())
  return publisher
}

/**
 * The README's `ffmpeg … -f tee …` command of a loopback example, run as printed (its addresses
 * moved to the running nodes'), stopped at teardown.
 */
async function publishAsReadme(run: Running, example: Example): Promise<Publisher> {
  assert.ok(example.prefix !== null, `${example.name} runs on loopback`)
  const readme = readFileSync(join(EXAMPLES, example.name, 'README.md'), 'utf8')
  const command = /```sh\n(ffmpeg [^`]*?-f tee [^`]*?)\n```/.exec(readme)?.[1]
  assert.ok(command !== undefined, `${example.name}/README.md prints an ffmpeg -f tee command`)
  const nodeAt = new Map(
    Object.keys(example.nodes).map((name) => [
      loadConfig(join(EXAMPLES, example.name, name)).cluster.publicIp,
      name,
    ]),
  )
  const addresses = new RegExp(`\\b${example.prefix.replaceAll('.', '\\.')}\\d+\\b`, 'g')
  const moved = (ip: string) => run.address(nodeAt.get(ip) ?? assert.fail(`${ip} is no node of the example`))
  // the words of a one-line shell command; the README quotes its tee target in '…'
  const words = [...command.replace(/\\\n\s*/g, ' ').matchAll(/'([^']*)'|(\S+)/g)].map((m) =>
    (m[1] ?? m[2] ?? '').replace(addresses, moved),
  )
  const publisher = new Publisher(words.at(-1) ?? '', await spawnFfmpeg(words.slice(1)))
  run.defer(() => publisher.stop())
  return publisher
}

/**
 * The first video tag a new HTTP-FLV player of `path` on node `name` gets (its body): what a
 * player must decode from, so it has to be the AVC sequence header with the decoder configuration.
 */
async function firstVideoTag(run: Running, name: string, path: string): Promise<Buffer> {
  const done = new AbortController()
  const signal = AbortSignal.any([done.signal, AbortSignal.timeout(15_000)])
  const res = await fetch(`http://${run.address(name)}:5080${path}.flv`, { signal })
  assert.equal(res.status, 200, `HTTP-FLV of ${path} on ${name}`)
  let buf = Buffer.alloc(0)
  let at = 13 // the FLV header (9 bytes) and the first PreviousTagSize
  try {
    for await (const chunk of res.body ?? []) {
      buf = Buffer.concat([buf, chunk])
      while (buf.length >= at + 11 && buf.length >= at + 11 + buf.readUIntBE(at + 1, 3)) {
        const size = buf.readUIntBE(at + 1, 3)
        if (((buf[at] as number) & 0x1f) === 9) return buf.subarray(at + 11, at + 11 + size)
        at += 11 + size + 4
      }
    }
  } finally {
    done.abort()
  }
  return assert.fail(`the HTTP-FLV stream of ${path} on ${name} ended before any video`)
}

/** Asserts a new player of `path` on node `name` gets the AVC sequence header first, not empty. */
async function assertDecodableFromStart(run: Running, name: string, path: string): Promise<void> {
  const tag = await firstVideoTag(run, name, path)
  assert.equal((tag[0] as number) & 0x0f, 7, `${name}: H.264`)
  assert.equal(tag[1], 0, `${name}: the first video tag is the AVC sequence header`)
  // AVCPacketType, CompositionTime (3), then the AVCDecoderConfigurationRecord: version 1, SPS, PPS
  assert.ok(
    tag.length > 11 && tag[5] === 1,
    `${name}: it holds the decoder configuration (${tag.length} bytes)`,
  )
}

/** Plays `path` from node `name` (RTMP, or HTTP-FLV with `flv`), from where that node runs. */
async function playFrom(run: Running, name: string, path: string, frames: number, flv = false) {
  const wrap = run.wrap(name)
  const url = flv ? `http://${run.address(name)}:5080${path}.flv` : `rtmp://${run.address(name)}:1935${path}`
  return await play(url, { frames, timeout: 30_000, ...(wrap === undefined ? {} : { wrap }) })
}

describe('the examples load as shipped', () => {
  test('every cluster example under examples/ is run by this file', () => {
    assert.deepEqual(clusterExamples(), ALL.map((e) => e.name).sort())
    for (const e of ALL) assert.deepEqual(nodeFolders(e.name), Object.keys(e.nodes).sort(), e.name)
  })

  for (const example of ALL) {
    test(`${example.name}: every node's conf loads without warnings, in its role, at its own address`, () => {
      const configs = new Map(
        Object.keys(example.nodes).map((name) => [name, loadConfig(join(EXAMPLES, example.name, name))]),
      )
      const passwords = new Set([...configs.values()].map((c) => c.cluster.password))
      assert.equal(passwords.size, 1, 'one password for the whole example')
      assert.match(readFileSync(join(EXAMPLES, example.name, 'README.md'), 'utf8'), /^# /)
      for (const [name, config] of configs) {
        assert.deepEqual(config.warnings, [], `${name}: warnings`)
        assert.equal(config.role, example.nodes[name], `${name}: role`)
        for (const file of [CLUSTER_XML, RED5_PROPERTIES]) {
          const path = join(EXAMPLES, example.name, name, file)
          if (existsSync(path)) assert.doesNotMatch(readFileSync(path, 'utf8'), /127\.0\.0\.\d/, path)
        }
      }
      if (example.prefix === null) {
        // the zero-config example: nothing but the password and the node type
        for (const [name, config] of configs) {
          assert.equal(config.files.properties, null, `${name}: no red5.properties`)
          assert.deepEqual(config.cluster.origins, [], `${name}: no origins`)
          assert.equal(config.cluster.publicIp, '0.0.0.0', `${name}: publicIp`)
          for (const l of [config.http, config.rtmp, config.mesh]) assert.equal(l.host, '0.0.0.0', name)
          assert.deepEqual([config.http.port, config.rtmp.port, config.mesh.port], [5080, 1935, 7800])
          assert.deepEqual(
            config.discovery,
            { mdns: true, peers: [], healSeconds: 600, profile: 'lan' },
            `${name}: mDNS on, no peers`,
          )
        }
        return
      }
      // loopback: each node on its own address of the example's /24, the default ports, mDNS off
      const byHost = new Map([...configs.entries()].map(([name, c]) => [c.cluster.publicIp, name]))
      assert.equal(byHost.size, configs.size, 'one address per node')
      for (const [name, config] of configs) {
        const ip = config.cluster.publicIp
        assert.ok(ip.startsWith(example.prefix), `${name}: publicIp ${ip} in ${example.prefix}0/24`)
        for (const l of [config.http, config.rtmp, config.mesh])
          assert.equal(l.host, ip, `${name}: listens on ${ip}`)
        assert.deepEqual([config.http.port, config.rtmp.port, config.mesh.port], [5080, 1935, 7800])
        assert.equal(config.cluster.publicPort, 1935)
        assert.equal(config.discovery.mdns, false, `${name}: mDNS off on loopback`)
        for (const o of config.cluster.origins) {
          const upstream = byHost.get(o.host)
          assert.ok(upstream !== undefined, `${name}: origin ${o.text} is a node of the example`)
          assert.ok(
            ['origin', 'relay'].includes(example.nodes[upstream] as Role),
            `${name}: ${o.text} upstream`,
          )
        }
        for (const p of config.discovery.peers)
          assert.ok(byHost.has(p.host), `${name}: peer ${p.host} is a node of the example`)
      }
    })
  }
})

describe('the examples, run', () => {
  test('origin-edge: a stream published to the origin plays from the edge over RTMP and HTTP-FLV', (t) =>
    runExample(t, ORIGIN_EDGE, async (run) => {
      const [origin, edge] = [run.node('origin'), run.node('edge')]
      await waitFor(async () => (await viewSize(edge)) === 2, { timeout: 15_000, what: 'one view of 2' })
      await publishTo(run, 'origin', '/live/example')
      await pullsThrough(edge, '/live/example', [await idOf(origin)], 'the edge pulling from the origin')
      const rtmp = await playFrom(run, 'edge', '/live/example', 25)
      assert.ok(rtmp.frames.length >= 25, `${rtmp.frames.length} frames; ${rtmp.stderr.slice(-800)}`)
      assertMonotonic(rtmp.frames)
      const flv = await playFrom(run, 'edge', '/live/example', 25, true)
      assert.ok(flv.frames.length >= 25, `${flv.frames.length} frames; ${flv.stderr.slice(-800)}`)
      const res = await origin.httpGet('/cluster?stream=live/example')
      assert.equal(res.status, 200)
      const hosts = [origin.host, edge.host].map((h) => `${h}:1935`)
      assert.ok(hosts.includes(await res.text()), 'GET /cluster?stream= names the origin or the edge')
    }))

  test("multi-origin: the README's tee publish plays from both edges from the start; edges switch to the other origin when theirs is SIGKILLed; the player keeps getting frames", (t) =>
    runExample(t, MULTI_ORIGIN, async (run) => {
      const [a, b, e1, e2] = ['origin-a', 'origin-b', 'edge-1', 'edge-2'].map((n) => run.node(n)) as [
        NodeProcess,
        NodeProcess,
        NodeProcess,
        NodeProcess,
      ]
      await waitFor(async () => (await Promise.all([a, b, e1, e2].map(viewSize))).every((n) => n === 4), {
        timeout: 20_000,
        what: 'one view of 4',
      })
      const ids = new Map([
        [await idOf(a), a],
        [await idOf(b), b],
      ])
      const path = '/live/test' // the README's
      await publishAsReadme(run, MULTI_ORIGIN)
      /** the origin edge-1 pulls from now */
      const servingE1 = async () => {
        const via = (await carrierOn(e1, path))?.via
        return via?.length === 1 ? ids.get(via[0] as string) : undefined
      }
      await waitFor(servingE1, { timeout: 20_000, what: 'edge-1 pulling from an origin' })
      await waitFor(async () => (await carrierOn(e2, path))?.via.length === 1, {
        timeout: 20_000,
        what: 'edge-2 pulling from an origin',
      })
      for (const edge of ['edge-1', 'edge-2']) await assertDecodableFromStart(run, edge, path)
      // the origins are private: GET /cluster sends players to an edge
      const route = await (await a.httpGet('/cluster?stream=live/test')).text()
      assert.ok([e1.host, e2.host].map((h) => `${h}:1935`).includes(route), `GET /cluster named ${route}`)

      const player = playFrom(run, 'edge-1', path, 200)
      await waitFor(() => playing(e1, path), { timeout: 15_000, what: 'the player on edge-1' })
      const serving = await waitFor(servingE1, { what: 'the origin edge-1 pulls from' })
      const survivor = serving === a ? b : a
      const survivorId = await idOf(survivor)
      const killedAt = Date.now()
      serving.kill('SIGKILL')
      await pullsThrough(e1, path, [survivorId], 'edge-1 switching to the surviving origin')
      process.stdout.write(
        `# multi-origin: edge-1 pulls from the other origin ${Date.now() - killedAt} ms after the kill\n`,
      )
      await pullsThrough(e2, path, [survivorId], 'edge-2 on the surviving origin')
      await assertDecodableFromStart(run, 'edge-1', path)
      const p = await player
      const after = p.frames.filter((f) => f.at > killedAt + 200)
      const gap = longestGap(p.frames.filter((f) => f.at > killedAt - 2000))
      process.stdout.write(`# multi-origin: longest pause at the player across the kill ${gap} ms\n`)
      assert.ok(p.frames.length >= 200, `the player got ${p.frames.length} frames; ${p.stderr.slice(-600)}`)
      assert.ok(after.length >= 50, `frames after the kill: ${after.length}`)
      assertMonotonic(p.frames)
    }))

  test('relay-chain: the edge pulls through the relay it lists, and straight from the origin once the relay dies', (t) =>
    runExample(t, RELAY_CHAIN, async (run) => {
      const [origin, relay, edge] = [run.node('origin'), run.node('relay'), run.node('edge')]
      await waitFor(async () => (await viewSize(edge)) === 3, { timeout: 15_000, what: 'one view of 3' })
      const [originId, relayId] = [await idOf(origin), await idOf(relay)]
      await publishTo(run, 'origin', '/live/chain')
      await pullsThrough(relay, '/live/chain', [originId], 'the relay pulling from the origin')
      await pullsThrough(edge, '/live/chain', [relayId, originId], 'the edge pulling through the relay')
      const chained = await playFrom(run, 'edge', '/live/chain', 25)
      assert.ok(chained.frames.length >= 25, `${chained.frames.length} frames; ${chained.stderr.slice(-800)}`)
      // the relay is private: GET /cluster never names it
      for (let i = 0; i < 4; i++) {
        const route = await (await origin.httpGet('/cluster?stream=live/chain')).text()
        assert.notEqual(route, `${relay.host}:1935`)
      }
      // the README's "kill the relay": the edge pulls straight from the origin, its player kept
      const player = playFrom(run, 'edge', '/live/chain', 150)
      await waitFor(() => playing(edge, '/live/chain'), { timeout: 15_000, what: 'the player on the edge' })
      const killedAt = Date.now()
      relay.kill('SIGKILL')
      await pullsThrough(edge, '/live/chain', [originId], 'the edge pulling from the origin itself')
      const p = await player
      const after = p.frames.filter((f) => f.at > killedAt + 200)
      assert.ok(p.frames.length >= 150, `${p.frames.length} frames; ${p.stderr.slice(-800)}`)
      assert.ok(after.length >= 50, `frames after the relay was killed: ${after.length}`)
      assertMonotonic(p.frames)
    }))

  test(
    'zero-config-lan: on one LAN, nodes with only a password find each other by mDNS and the edge plays',
    withLan(2, async (_cluster, lan, t: TestContext) =>
      runExample(
        t,
        ZERO_CONFIG_LAN,
        async (run) => {
          const [origin, edge] = [run.node('origin'), run.node('edge')]
          await waitFor(async () => (await Promise.all([origin, edge].map(viewSize))).every((n) => n === 2), {
            timeout: 20_000,
            what: 'one view of 2, found by mDNS',
          })
          for (const n of [origin, edge])
            assert.ok(n.records().some((r) => r.message === 'mesh listening' && r.mdns === true))
          await publishTo(run, 'origin', '/live/lan')
          await pullsThrough(edge, '/live/lan', [await idOf(origin)], 'the edge pulling from the origin')
          const pulling = edge.records().find((r) => r.message === 'pulling stream' && r.path === '/live/lan')
          assert.equal(
            pulling?.url,
            `rtmp://${run.address('origin')}:1935/live/lan`,
            'pulled at its LAN address',
          )
          const p = await playFrom(run, 'edge', '/live/lan', 25)
          assert.ok(p.frames.length >= 25, `${p.frames.length} frames; ${p.stderr.slice(-800)}`)
          // every address a wildcard: /cluster names nodes by where they are reached, never 0.0.0.0
          const routed = await (await edge.httpGet('/cluster?stream=live/lan')).text()
          assert.ok(
            [run.address('origin'), run.address('edge')].map((a) => `${a}:1935`).includes(routed),
            `/cluster answered ${routed}`,
          )
        },
        lan,
      ),
    ),
  )
})
