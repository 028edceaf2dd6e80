import assert from 'node:assert/strict'
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, readlinkSync, realpathSync, statSync } from 'node:fs'
import { describe, type TestContext, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import {
  NetnsLan as Lan,
  type NetnsLan,
  type NodeProcess,
  play,
  publish,
  skipOrFailWithoutLan,
  type TestCluster,
  waitFor,
  withLan,
} from '../src/index.ts'

// ---- small programs run inside host namespaces (node -e, CommonJS, args from process.argv[1]) ----

/** TCP: answers every connection with `hello from <host>` and closes. */
const SERVER = `
const net = require('node:net')
const [host, port] = process.argv.slice(1)
net.createServer((s) => s.end('hello from ' + host + '\\n')).listen(Number(port), host, () => console.log('listening'))
`

/** TCP: connects, prints what it is told, or `error <code>`. */
const CLIENT = `
const net = require('node:net')
const [host, port] = process.argv.slice(1)
const s = net.connect(Number(port), host)
let text = ''
s.on('data', (c) => { text += c })
s.on('end', () => { console.log(text.trim()); process.exit(0) })
s.on('error', (e) => { console.log('error ' + e.code); process.exit(1) })
setTimeout(() => { console.log('error timeout'); process.exit(1) }, 3000)
`

/** UDP: joins the groups on a port, prints `joined`, then `got <from> <payload>` for each datagram. */
const RECEIVER = `
const dgram = require('node:dgram')
const [port, ...groups] = process.argv.slice(1)
const s = dgram.createSocket({ type: 'udp4', reuseAddr: true })
s.on('message', (m, r) => console.log('got ' + r.address + ' ' + m))
s.bind(Number(port), () => { for (const g of groups) s.addMembership(g); console.log('joined') })
`

/** UDP: sends `count` datagrams to group:port, one after another (gap ms apart), prints `sent <n>`. */
const SENDER = `
const dgram = require('node:dgram')
const [group, port, count, gap] = process.argv.slice(1)
const s = dgram.createSocket('udp4')
let n = 0
const next = (err) => {
  if (err) { console.log('error ' + err.code); process.exit(1) }
  if (n >= Number(count)) { console.log('sent ' + n); s.close(); return }
  const payload = 'm' + n++
  setTimeout(() => s.send(payload, Number(port), group, next), Number(gap))
}
s.bind(0, () => next())
`

const SLEEPER = 'setInterval(() => {}, 60_000)'

/** A program running in a namespace, its stdout kept line by line. */
class Proc {
  readonly child: ChildProcess
  readonly lines: string[] = []
  stderr = ''
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>

  constructor(argv: string[]) {
    const [file, ...args] = argv
    this.child = spawn(file as string, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let partial = ''
    this.child.stdout?.setEncoding('utf8').on('data', (text: string) => {
      const lines = (partial + text).split('\n')
      partial = lines.pop() ?? ''
      this.lines.push(...lines)
    })
    this.child.stderr?.setEncoding('utf8').on('data', (text: string) => {
      this.stderr += text
    })
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code, signal) => resolve({ code, signal })),
    )
  }

  async line(pattern: RegExp, what = String(pattern)): Promise<string> {
    return await waitFor(() => this.lines.find((l) => pattern.test(l)), {
      what: `${what} (stderr so far: ${JSON.stringify(this.stderr.slice(-500))})`,
      timeout: 10_000,
    })
  }

  count(pattern: RegExp): number {
    return this.lines.filter((l) => pattern.test(l)).length
  }

  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL')
    await this.exited
  }
}

type Run = (host: number, script: string, ...args: (string | number)[]) => Proc

/**
 * withLan, plus a way to run small node programs on LAN hosts that are all
 * killed when the body ends, pass or fail.
 */
function lanTest(
  hostCount: number,
  body: (lan: NetnsLan, run: Run, cluster: TestCluster) => Promise<void>,
): (t: TestContext) => Promise<void> {
  return withLan(hostCount, async (cluster, lan) => {
    const procs: Proc[] = []
    const run: Run = (host, script, ...args) => {
      const proc = new Proc(lan.wrap(host, [process.execPath, '-e', script, ...args.map(String)]))
      procs.push(proc)
      return proc
    }
    try {
      await body(lan, run, cluster)
    } finally {
      await Promise.all(procs.map((p) => p.kill()))
    }
  })
}

/** For tests that build their own LANs: skip (or fail in CI) without namespaces. */
async function lanAvailable(t: TestContext): Promise<boolean> {
  const reason = await Lan.available()
  if (reason === null) return true
  skipOrFailWithoutLan(reason, t)
  return false
}

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8' })
}

function namespaces(): string[] {
  return ip('netns', 'list')
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n !== '')
}

/** Links of the root namespace whose name starts `mc-`. */
function rootMcLinks(): string[] {
  return ip('-o', 'link', 'show')
    .split('\n')
    .map((l) => l.split(': ')[1]?.split('@')[0] ?? '')
    .filter((n) => n.startsWith('mc-'))
}

/**
 * Packets the root namespace's hardware interfaces have sent, all together.
 * Virtual ones (lo, docker's bridges and veths, which the container tests
 * beside this one keep busy) are left out; the LAN's own links are checked
 * by rootMcLinks.
 */
function rootTxPackets(): number {
  let total = 0
  for (const dev of readdirSync('/sys/class/net')) {
    if (readlinkSync(`/sys/class/net/${dev}`).includes('/devices/virtual/')) continue
    const file = `/sys/class/net/${dev}/statistics/tx_packets`
    if (existsSync(file)) total += Number(readFileSync(file, 'utf8'))
  }
  return total
}

/** The TCP connect error code, or 'connected'. */
async function tryConnect(lan: NetnsLan, from: number, host: string, port: number): Promise<string> {
  try {
    const socket = await lan.connect(from, host, port, 1000)
    socket.destroy()
    return 'connected'
  } catch (err) {
    return String((err as { code?: string }).code ?? (err as Error).message)
  }
}

/**
 * Waits until host `from` can connect to host:port again. After a cut, ARP
 * entries that failed (or are still failing) during it take up to about 3 s
 * to recover, as on a real LAN, so a first attempt right after linkUp or heal
 * may still fail.
 */
async function reconnects(lan: NetnsLan, from: number, host: string, port: number): Promise<void> {
  await waitFor(async () => (await tryConnect(lan, from, host, port)) === 'connected', {
    timeout: 10_000,
    interval: 100,
    what: `host ${from} to reach ${host}:${port} again`,
  })
}

const CUT = /^(ETIMEDOUT|EHOSTUNREACH)$/
const MDNS = '224.0.0.251'
/** an administratively scoped group: outside 224.0.0.x, which bridges always flood */
const SCOPED = '239.255.42.99'

function pidAlive(pid: number): boolean {
  try {
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0]
    return state !== 'Z'
  } catch {
    return false
  }
}

/** A pid that has just exited, so no process has it. */
async function deadPid(): Promise<number> {
  for (;;) {
    const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' })
    await new Promise((r) => child.once('exit', r))
    if (child.pid !== undefined && !pidAlive(child.pid)) return child.pid
  }
}

describe('NetnsLan', () => {
  test(
    'hosts reach each other over the bridge, each on its own address',
    lanTest(3, async (lan, run) => {
      assert.equal(lan.hostCount, 3)
      const addresses = [0, 1, 2].map((i) => lan.address(i))
      assert.equal(new Set(addresses).size, 3)
      for (const a of addresses) assert.match(a, /^10\.\d+\.\d+\.\d+$/)
      assert.match(lan.namespace(0), /^mc-[0-9a-f]{4}-\d+-h0$/)

      const server = run(0, SERVER, lan.address(0), 4000)
      await server.line(/^listening$/)
      const client = run(1, CLIENT, lan.address(0), 4000)
      assert.equal(await client.line(/./), `hello from ${lan.address(0)}`)
      assert.deepEqual(await client.exited, { code: 0, signal: null })

      // the same through the test's own relay, from host 2
      const socket = await lan.connect(2, lan.address(0), 4000)
      const text = await new Promise<string>((resolve) => {
        let t = ''
        socket.setEncoding('utf8').on('data', (c: string) => {
          t += c
        })
        socket.once('end', () => resolve(t))
      })
      socket.destroy()
      assert.equal(text, `hello from ${lan.address(0)}\n`)
      assert.equal(await tryConnect(lan, 2, lan.address(1), 4000), 'ECONNREFUSED')
    }),
  )

  test(
    'multicast from host 0 reaches the other hosts (the mDNS group and a scoped one)',
    lanTest(3, async (lan, run) => {
      const receivers = [run(1, RECEIVER, 5353, MDNS, SCOPED), run(2, RECEIVER, 5353, MDNS, SCOPED)]
      for (const r of receivers) await r.line(/^joined$/)
      const mdns = run(0, SENDER, MDNS, 5353, 5, 10)
      assert.equal(await mdns.line(/^(sent|error)/), 'sent 5')
      const scoped = run(0, SENDER, SCOPED, 5353, 5, 10)
      assert.equal(await scoped.line(/^(sent|error)/), 'sent 5')
      for (const r of receivers) {
        await waitFor(() => r.count(new RegExp(`^got ${lan.address(0).replaceAll('.', '\\.')} m`)) === 10, {
          what: 'all ten datagrams from host 0',
        })
      }
    }),
  )

  test(
    'linkDown cuts one host off (its eth0 loses carrier); linkUp restores it',
    lanTest(3, async (lan, run) => {
      for (const i of [0, 1, 2]) await run(i, SERVER, lan.address(i), 4000).line(/^listening$/)
      assert.equal(await tryConnect(lan, 0, lan.address(1), 4000), 'connected')

      await lan.linkDown(1)
      assert.equal(lan.isUp(1), false)
      assert.match(ip('-n', lan.namespace(1), 'link', 'show', 'eth0'), /NO-CARRIER/)
      assert.match(await tryConnect(lan, 0, lan.address(1), 4000), CUT)
      assert.match(await tryConnect(lan, 1, lan.address(2), 4000), CUT)
      assert.equal(await tryConnect(lan, 0, lan.address(2), 4000), 'connected', 'the others still talk')
      assert.equal(await tryConnect(lan, 1, lan.address(1), 4000), 'connected', 'host 1 still reaches itself')

      await lan.linkUp(1)
      assert.doesNotMatch(ip('-n', lan.namespace(1), 'link', 'show', 'eth0'), /NO-CARRIER/)
      await reconnects(lan, 0, lan.address(1), 4000)
      await reconnects(lan, 1, lan.address(2), 4000)
    }),
  )

  test(
    'partition splits the LAN into groups that hear only themselves; heal joins it again',
    lanTest(4, async (lan, run) => {
      for (const i of [0, 1, 2, 3]) await run(i, SERVER, lan.address(i), 4000).line(/^listening$/)
      await assert.rejects(lan.partition([[0, 1], [2]]), /leaves out host\(s\) 3/)
      await assert.rejects(
        lan.partition([
          [0, 1],
          [1, 2, 3],
        ]),
        /host 1 is in more than one group/,
      )

      await lan.partition([
        [0, 1],
        [2, 3],
      ])
      assert.equal(await tryConnect(lan, 0, lan.address(1), 4000), 'connected')
      assert.equal(await tryConnect(lan, 3, lan.address(2), 4000), 'connected')
      assert.match(await tryConnect(lan, 0, lan.address(2), 4000), CUT)
      assert.match(await tryConnect(lan, 3, lan.address(1), 4000), CUT)

      const near = run(1, RECEIVER, 5353, MDNS)
      const far = run(2, RECEIVER, 5353, MDNS)
      await near.line(/^joined$/)
      await far.line(/^joined$/)
      await run(0, SENDER, MDNS, 5353, 10, 5).line(/^sent 10$/)
      await waitFor(() => near.count(/^got /) === 10, { what: 'the same group to hear host 0' })
      assert.equal(far.count(/^got /), 0, 'the other group hears no multicast')

      await lan.heal()
      await reconnects(lan, 0, lan.address(2), 4000)
      await reconnects(lan, 3, lan.address(1), 4000)
      await run(0, SENDER, MDNS, 5353, 10, 5).line(/^sent 10$/)
      await waitFor(() => far.count(/^got /) === 10, { what: 'the healed LAN to carry multicast' })
    }),
  )

  test(
    'addHost adds a host on the same bridge',
    lanTest(1, async (lan, run) => {
      assert.equal(await lan.addHost(), 1)
      assert.equal(lan.hostCount, 2)
      await run(0, SERVER, lan.address(0), 4000).line(/^listening$/)
      assert.equal(await run(1, CLIENT, lan.address(0), 4000).line(/./), `hello from ${lan.address(0)}`)
    }),
  )

  test(
    'no multicast from inside the LAN shows up on the root namespace',
    lanTest(2, async (_lan, run) => {
      const sent = 1000
      const receiver = run(1, RECEIVER, 5353, MDNS)
      await receiver.line(/^joined$/)
      const before = rootTxPackets()
      await run(0, SENDER, MDNS, 5353, sent, 0).line(/^sent /, 'the burst sent')
      await waitFor(() => receiver.count(/^got /) >= sent * 0.9, { what: 'the burst to arrive in host 1' })
      const delta = rootTxPackets() - before
      assert.ok(delta < sent / 20, `the root namespace sent ${delta} packets during a burst of ${sent}`)
      assert.deepEqual(rootMcLinks(), [])
    }),
  )

  test('destroy kills what is left inside and deletes every namespace and link; twice is fine', async (t) => {
    if (!(await lanAvailable(t))) return
    const lan = await Lan.create(2)
    const stray: Proc[] = []
    try {
      stray.push(new Proc(lan.wrap(0, [process.execPath, '-e', SLEEPER])))
      stray.push(new Proc(lan.wrap(1, [process.execPath, '-e', SLEEPER])))
      await waitFor(
        () => readlinkSync(`/proc/${stray[1]?.child.pid}/exe`) === realpathSync(process.execPath),
        {
          what: 'the stray processes to run node',
        },
      )
      await tryConnect(lan, 0, lan.address(1), 1) // starts a relay process too
      assert.ok(namespaces().filter((n) => n.startsWith(lan.tag)).length === 3)

      await Promise.all([lan.destroy(), lan.destroy()])
      await lan.destroy()
      for (const p of stray) assert.equal((await p.exited).signal, 'SIGKILL')
      assert.deepEqual(
        namespaces().filter((n) => n.startsWith(lan.tag)),
        [],
      )
      assert.deepEqual(rootMcLinks(), [])
      assert.deepEqual(
        readdirSync('/tmp').filter((n) => n.startsWith(lan.tag)),
        [],
      )
      await assert.rejects(lan.linkDown(0), /is destroyed/)
    } finally {
      await Promise.all(stray.map((p) => p.kill()))
      await lan.destroy().catch(() => {})
    }
  })

  test('sweepStale removes namespaces whose creating pid is dead, and what runs in them', async (t) => {
    if (!(await lanAvailable(t))) return
    const id = randomBytes(2).toString('hex')
    const stale = `mc-${id}-${await deadPid()}-h0`
    const alive = `mc-${id}-1-h0` // pid 1 never dies
    let squatter: Proc | undefined
    try {
      ip('netns', 'add', stale)
      ip('netns', 'add', alive)
      squatter = new Proc(['ip', 'netns', 'exec', stale, process.execPath, '-e', SLEEPER])
      await waitFor(
        () => readlinkSync(`/proc/${squatter?.child.pid}/exe`) === realpathSync(process.execPath),
        {
          what: 'the squatter to run',
        },
      )
      // (another test process starting a LAN right now may sweep it first)
      const removed = await Lan.sweepStale()
      assert.ok(!removed.includes(alive), `removed ${removed.join(', ')}`)
      assert.equal((await squatter.exited).signal, 'SIGKILL')
      assert.ok(!namespaces().includes(stale))
      assert.ok(namespaces().includes(alive))
    } finally {
      await squatter?.kill()
      for (const ns of [stale, alive]) {
        try {
          ip('netns', 'delete', ns)
        } catch {
          // already gone
        }
      }
    }
  })

  for (const death of ['uncaught', 'SIGTERM'] as const) {
    test(`a test process that dies (${death}) leaves no namespace behind`, async (t) => {
      if (!(await lanAvailable(t))) return
      const netns = fileURLToPath(new URL('../src/netns.ts', import.meta.url))
      const script = `
        import { spawn } from 'node:child_process'
        import { NetnsLan } from ${JSON.stringify(netns)}
        const lan = await NetnsLan.create(2)
        const [file, ...args] = lan.wrap(1, [process.execPath, '-e', ${JSON.stringify(SLEEPER)}])
        const sleeper = spawn(file, args, { stdio: 'ignore' })
        await new Promise((r) => sleeper.once('spawn', r))
        console.log(JSON.stringify({ tag: lan.tag, sleeper: sleeper.pid }))
        if (${JSON.stringify(death)} === 'uncaught') setTimeout(() => { throw new Error('boom') }, 50)
        else setInterval(() => {}, 60_000)
      `
      const proc = new Proc([process.execPath, '--input-type=module', '-e', script])
      let tag = ''
      try {
        const info = JSON.parse(await proc.line(/^\{/)) as { tag: string; sleeper: number }
        tag = info.tag
        assert.equal(namespaces().filter((n) => n.startsWith(tag)).length, 3)
        if (death === 'SIGTERM') proc.child.kill('SIGTERM')
        const exit = await proc.exited
        if (death === 'SIGTERM') {
          assert.deepEqual(exit, { code: null, signal: 'SIGTERM' }, 'the hook re-raises the signal')
        } else {
          assert.equal(exit.code, 1)
          assert.match(proc.stderr, /Error: boom/)
        }
        assert.deepEqual(
          namespaces().filter((n) => n.startsWith(tag)),
          [],
        )
        await waitFor(() => !pidAlive(info.sleeper), { what: 'the process left in the LAN to die' })
      } finally {
        await proc.kill()
        if (tag !== '') await Lan.sweepStale()
      }
    })
  }

  test('without namespaces a LAN test is skipped, or fails under CI', () => {
    const skipped: (string | undefined)[] = []
    const t = { skip: (why?: string) => skipped.push(why) }
    skipOrFailWithoutLan('needs root', t, false)
    assert.deepEqual(skipped, ['needs root'])
    assert.throws(() => skipOrFailWithoutLan('needs root', t, true), /needs network namespaces.*needs root/)
  })
})

describe('TestCluster on a NetnsLan', () => {
  test(
    'runs node i in host i on its address; the pid is the node itself, so signals reach it',
    lanTest(2, async (lan, _run, cluster) => {
      const node = await cluster.start({ cluster: { nodeType: 'off' } })
      assert.equal(node.host, lan.address(0))
      const status = await node.status()
      assert.equal(status.listeners.http?.address, `${lan.address(0)}:5080`)
      assert.equal(status.listeners.rtmp?.address, `${lan.address(0)}:1935`)

      const pid = node.child.pid as number
      assert.equal(readlinkSync(`/proc/${pid}/exe`), realpathSync(process.execPath), 'not an `ip` wrapper')
      assert.equal(
        readlinkSync(`/proc/${pid}/ns/net`),
        `net:[${statSync(`/run/netns/${lan.namespace(0)}`).ino}]`,
      )

      // from the other host, over the bridge
      const res = await lan.fetch(1, `${node.httpUrl}/api/status`)
      assert.equal(res.status, 200)
      assert.equal(((await res.json()) as { id: string }).id, status.id)

      const state = () => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0]
      node.kill('SIGSTOP')
      await waitFor(() => state() === 'T', { what: 'the node to stop' })
      await assert.rejects(lan.fetch(1, `${node.httpUrl}/api/status`, { timeout: 500 }), /timed out/)
      node.kill('SIGCONT')
      await waitFor(() => state() !== 'T', { what: 'the node to continue' })
      assert.equal((await node.status()).ready, true)
      node.kill('SIGKILL')
      assert.deepEqual(await node.exited, { code: null, signal: 'SIGKILL' })
    }),
  )

  test(
    'nodes find each other by mDNS; a cut link splits the view, linkUp merges it',
    lanTest(2, async (lan, _run, cluster) => {
      const view = async (node: NodeProcess) =>
        ((await (await node.httpGet('/api/view')).json()) as { members: string[] }).members.length
      const nodes = await cluster.startMany(2)
      await assert.rejects(cluster.start(), /needs LAN host 2/)
      assert.equal(await lan.addHost(), 2)
      nodes.push(await cluster.start())
      assert.equal(nodes[2]?.host, lan.address(2))
      const all = async (count: number) => (await Promise.all(nodes.map(view))).every((n) => n === count)
      await waitFor(() => all(3), { timeout: 30_000, what: 'one view of 3, found by mDNS' })

      await lan.linkDown(2)
      const [n0, , n2] = nodes as [NodeProcess, NodeProcess, NodeProcess]
      await waitFor(async () => (await view(n0)) === 2 && (await view(n2)) === 1, {
        timeout: 30_000,
        what: 'node 2 to drop out of the view, and to be alone',
      })
      await lan.linkUp(2)
      await waitFor(() => all(3), { timeout: 30_000, what: 'the views to merge again' })
    }),
  )

  test(
    'ffmpeg publishes from one host and plays from another, over the LAN',
    lanTest(3, async (lan, _run, cluster) => {
      const node = await cluster.start({ cluster: { nodeType: 'off' } })
      const url = `${node.rtmpUrl}/live/lan`
      const publisher = await publish(url, { wrap: (argv) => lan.wrap(1, argv) })
      try {
        await waitFor(() => node.records().some((r) => r.message === 'publish'), { what: 'the publish' })
        const result = await play(url, { frames: 25, wrap: (argv) => lan.wrap(2, argv) })
        assert.equal(result.code, 0, result.stderr)
        assert.ok(result.frames.length >= 25, `decoded ${result.frames.length} frames`)
      } finally {
        await publisher.stop()
      }
    }),
  )
})
