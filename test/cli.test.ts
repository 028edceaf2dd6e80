import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import {
  listeningPorts,
  loopbackSubnet,
  MESHCAST_BIN,
  play,
  runCli,
  waitFor,
  withCluster,
  writeConfDir,
} from '@meshcast/testing'

const ROOT = join(import.meta.dirname, '..')

describe('meshcast --help', () => {
  test('lists the commands', async () => {
    const r = await runCli(['--help'])
    assert.equal(r.code, 0)
    for (const cmd of ['start', 'check', 'demo']) assert.match(r.stdout, new RegExp(`\\b${cmd}\\b`))
  })

  test('demo --help lists its flags and their defaults', async () => {
    const r = await runCli(['demo', '--help'])
    assert.equal(r.code, 0)
    assert.match(r.stdout, /--origins <n>.*\(default:\s+"2"\)/s)
    assert.match(r.stdout, /--edges <n>.*\(default:\s+"2"\)/s)
    assert.match(r.stdout, /--address <ip>.*\(default:\s+"127\.0\.0\.1"\)/s)
    assert.match(r.stdout, /--no-publish/)
    assert.match(
      r.stdout,
      /--log-level <level>.*\(choices:.*default:\s+"info",\s+env:\s+MESHCAST_LOG_LEVEL\)/s,
    )
  })

  for (const cmd of ['start', 'check']) {
    test(`${cmd} --help lists its flags and their defaults`, async () => {
      const r = await runCli([cmd, '--help'])
      assert.equal(r.code, 0)
      assert.match(r.stdout, /--conf <dir>.*\(default:\s+"conf",\s+env:\s+MESHCAST_CONF\)/s)
      for (const flag of ['--host', '--http-port', '--rtmp-port', '--mesh-port'])
        assert.ok(r.stdout.includes(flag))
      assert.match(r.stdout, /--no-mdns\s.*mesh\.mdns,\s+default\s+on/s)
      assert.match(r.stdout, /--peer <host\[:port\]>\s.*repeat.*mesh\.peers,\s+default\s+none/s)
      assert.match(r.stdout, /MESHCAST_PUBLIC_IP/, 'the help points at the variables')
      if (cmd !== 'check')
        assert.match(
          r.stdout,
          /--log-level <level>.*\(choices:.*default:\s+"info",\s+env:\s+MESHCAST_LOG_LEVEL\)/s,
        )
    })
  }

  test('an unknown command or flag says so and exits non-zero', async () => {
    const r = await runCli(['launch'])
    assert.notEqual(r.code, 0)
    assert.match(r.stderr, /unknown command 'launch'/)
    const f = await runCli(['start', '--htp-port', '1'])
    assert.notEqual(f.code, 0)
    assert.match(f.stderr, /unknown option '--htp-port'/)
  })
})

describe('meshcast check', () => {
  test("prints the effective config of Red5 Pro's origin example", async () => {
    const r = await runCli(['check', '--conf', join(ROOT, 'conf/examples/origin')])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /role: origin/)
    assert.match(r.stdout, /publicIp: 203\.0\.113\.10/)
    assert.match(r.stdout, /password: \*{8}/)
    assert.ok(!r.stdout.includes('your-cluster-password'), 'the password is masked')
  })

  test("prints the effective config of Red5 Pro's edge example", async () => {
    const r = await runCli(['check', '--conf', join(ROOT, 'conf/examples/edge'), '--json'])
    assert.equal(r.code, 0, r.stderr)
    const view = JSON.parse(r.stdout) as { role: string; cluster: { origins: unknown[]; password: string } }
    assert.equal(view.role, 'edge')
    assert.deepEqual(view.cluster.origins, ['203.0.113.10:1935'])
    assert.equal(view.cluster.password, '********')
  })

  test('applies command-line overrides', async () => {
    const r = await runCli([
      'check',
      '--conf',
      join(ROOT, 'conf'),
      '--host',
      '127.0.0.1',
      '--http-port',
      '8080',
      '--json',
    ])
    assert.equal(r.code, 0, r.stderr)
    const view = JSON.parse(r.stdout) as Record<string, unknown>
    assert.deepEqual(view.http, { host: '127.0.0.1', port: 8080 })
    assert.deepEqual(view.rtmp, { host: '127.0.0.1', port: 1935 })
    assert.deepEqual(view.mesh, { host: '127.0.0.1', port: 7800 })
  })

  test('shows the discovery settings, and applies --no-mdns and --peer', async () => {
    const text = await runCli(['check', '--conf', join(ROOT, 'conf')])
    assert.equal(text.code, 0, text.stderr)
    assert.match(
      text.stdout,
      /^discovery:\n {2}mdns: true\n {2}peers: \[\]\n {2}healSeconds: 600\n {2}profile: lan$/m,
    )
    const r = await runCli([
      'check',
      '--conf',
      join(ROOT, 'conf'),
      '--json',
      '--no-mdns',
      '--peer',
      '127.0.0.9:7801',
      '--peer',
      'localhost',
      '--mesh-port',
      '7900',
    ])
    assert.equal(r.code, 0, r.stderr)
    const view = JSON.parse(r.stdout) as Record<string, unknown>
    assert.deepEqual(view.discovery, {
      mdns: false,
      peers: ['127.0.0.9:7801', 'localhost:7900'],
      healSeconds: 600,
      profile: 'lan',
    })
  })

  test('applies MESHCAST_* variables over the files, and flags over the variables', async () => {
    const r = await runCli(['check', '--conf', join(ROOT, 'conf'), '--json', '--http-port', '8081'], {
      env: {
        MESHCAST_PUBLIC_IP: '10.20.30.40',
        MESHCAST_NODE_TYPE: 'edge',
        MESHCAST_ORIGINS: 'origins.example',
        MESHCAST_HTTP_PORT: '9090',
        MESHCAST_MESH_MDNS: 'false',
        MESHCAST_LOG_LEVEL: 'warn',
      },
    })
    assert.equal(r.code, 0, r.stderr)
    const view = JSON.parse(r.stdout) as {
      role: string
      cluster: { publicIp: string; origins: string[] }
      http: { port: number }
      discovery: { mdns: boolean }
    }
    assert.equal(view.role, 'edge')
    assert.equal(view.cluster.publicIp, '10.20.30.40')
    assert.deepEqual(view.cluster.origins, ['origins.example:1935'])
    assert.equal(view.http.port, 8081)
    assert.equal(view.discovery.mdns, false)
  })

  test('exits 1 for a bad MESHCAST_* value, naming the variable', async () => {
    const r = await runCli(['check', '--conf', join(ROOT, 'conf')], { env: { MESHCAST_RTMP_PORT: '70000' } })
    assert.equal(r.code, 1)
    assert.match(r.stderr, /environment: property "MESHCAST_RTMP_PORT" \(value "70000"\) is not a valid port/)
  })

  test('exits 1 for a bad --peer, naming it', async () => {
    const r = await runCli(['check', '--conf', join(ROOT, 'conf'), '--peer', '127.0.0.9:0'])
    assert.equal(r.code, 1)
    assert.match(r.stderr, /command line: property "--peer" \(value "127\.0\.0\.9:0"\) has an invalid port/)
  })

  test('exits 1 with the file, line, property and value of a bad password', async () => {
    const conf = writeConfDir({ password: 'Secret' })
    const r = await runCli(['check', '--conf', conf])
    assert.equal(r.code, 1)
    assert.equal(r.stdout, '')
    assert.match(r.stderr, /cluster\.xml:\d+: property "password" \(value "Secret"\) .*capital/)
  })

  test('exits 1 for a bad port given on the command line', async () => {
    const r = await runCli(['check', '--conf', join(ROOT, 'conf'), '--rtmp-port', '70000'])
    assert.equal(r.code, 1)
    assert.match(r.stderr, /--rtmp-port.*70000/)
  })

  test('exits 1 for a missing conf folder', async () => {
    const r = await runCli(['check', '--conf', '/nonexistent/meshcast-conf'])
    assert.equal(r.code, 1)
    assert.match(r.stderr, /\/nonexistent\/meshcast-conf/)
  })
})

describe('meshcast start', () => {
  test('with a bad config exits 1 before opening any port', async () => {
    const host = loopbackSubnet()(0)
    const conf = writeConfDir({ nodeType: 'sideways' })
    const r = await runCli(['start', '--conf', conf, '--host', host])
    assert.equal(r.code, 1)
    assert.match(r.stderr, /nodeType.*sideways.*auto, off, origin, edge, relay/s)
    assert.ok(!r.stderr.includes('listening'), 'no listener was opened')
    assert.deepEqual(await listeningPorts(host, [1935, 5080, 7800]), [])
  })

  test(
    'logs JSON lines with --log-format json, node-media-server included',
    withCluster(async (cluster) => {
      const node = await cluster.start({ cluster: { nodeType: 'off' } })
      // an RTMP connection that closes at once: node-media-server logs the session's end
      const socket = connect({ host: node.host, port: 1935 })
      await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject))
      socket.end()
      await waitFor(
        () =>
          node
            .records()
            .some(
              (r) =>
                r.component === 'nms' &&
                r.level === 'debug' &&
                /RTMP session \S+ close/.test(String(r.message)),
            ),
        { what: 'node-media-server lines passing through the same logger' },
      )
      const lines = node.log().split('\n')
      const records = node.records()
      assert.equal(records.length, lines.length, 'every line is a JSON record')
      assert.ok(records.some((r) => r.message === 'ready' && r.level === 'info'))
    }),
  )

  test('logs readable lines by default and honours --log-level', async () => {
    const host = loopbackSubnet()(0)
    const conf = writeConfDir({ nodeType: 'off' })
    const child = spawn(
      process.execPath,
      [MESHCAST_BIN, 'start', '--conf', conf, '--host', host, '--log-level', 'warn'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    let out = ''
    child.stderr.setEncoding('utf8').on('data', (t: string) => {
      out += t
    })
    try {
      await waitFor(async () => (await listeningPorts(host, [5080])).length === 1, { what: 'the HTTP port' })
      assert.equal(out, '', 'nothing at warn level on a clean start')
    } finally {
      child.kill('SIGTERM')
      await new Promise((r) => child.once('exit', r))
    }
    const debug = spawn(process.execPath, [MESHCAST_BIN, 'start', '--conf', conf, '--host', host], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let text = ''
    debug.stderr.setEncoding('utf8').on('data', (t: string) => {
      text += t
    })
    try {
      await waitFor(() => text.includes(' ready'), { what: 'the ready line' })
      assert.match(
        text,
        /^\d\d:\d\d:\d\d\.\d{3} info starting node=12D3KooW[1-9A-HJ-NP-Za-km-z]{44} role=standalone version=/m,
      )
      assert.match(
        text,
        /^\d\d:\d\d:\d\d\.\d{3} info ready node=12D3KooW[1-9A-HJ-NP-Za-km-z]{44} role=standalone rtmp=\S+ http=\S+$/m,
      )
    } finally {
      debug.kill('SIGTERM')
      await new Promise((r) => debug.once('exit', r))
    }
  })
})

describe('meshcast demo', () => {
  test('runs 2 origins and 2 edges with a live test pattern, prints the URLs, and Ctrl-C stops every process', async () => {
    const first = loopbackSubnet()(0)
    const addresses = [0, 1, 2, 3].map((i) => first.replace(/\d+$/, (n) => String(Number(n) + i)))
    const child = spawn(process.execPath, [MESHCAST_BIN, 'demo', '--address', first], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    child.stdout.setEncoding('utf8').on('data', (t: string) => {
      out += t
    })
    child.stderr.setEncoding('utf8').on('data', (t: string) => {
      out += t
    })
    const exited = new Promise<[number | null, string | null]>((r) => child.once('exit', (c, s) => r([c, s])))
    try {
      const watch = await waitFor(() => /watch +ffplay (rtmp:\/\/\S+)/.exec(out)?.[1], {
        what: 'the demo banner',
        timeout: 60_000,
      })
      // the player URL names the first edge, the third node
      assert.equal(watch, `rtmp://${addresses[2]}:1935/live/demo`)
      assert.match(out, /… starting origin-1 on .* \(1\/4\)/, 'a progress line per node')
      for (const a of addresses) assert.ok(out.includes(`http://${a}:5080/`), `node ${a} listed`)
      assert.ok(out.includes(`dashboard http://${addresses[0]}:5080/`))
      assert.ok(out.includes(`player    http://${addresses[2]}:5080/?play=live/demo`))
      assert.ok(out.includes(`chat      http://${addresses[2]}:5080/chatr/chatr.html`))

      const view = (await (await fetch(`http://${addresses[3]}:5080/api/view`)).json()) as {
        members: string[]
      }
      assert.equal(view.members.length, 4, 'one cluster of four')
      const roles = (await (await fetch(`http://${addresses[0]}:5080/api/members`)).json()) as {
        members: { role: string }[]
      }
      assert.deepEqual(roles.members.map((m) => m.role).sort(), ['edge', 'edge', 'origin', 'origin'])
      const page = await fetch(`http://${addresses[0]}:5080/`)
      assert.match(await page.text(), /meshcast dashboard/)
      const children = () =>
        readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8')
          .trim()
          .split(/\s+/)
          .filter(Boolean)
      const pids = children()
      assert.equal(pids.length, 5, 'four nodes and the test publisher run')
      const result = await play(watch, { frames: 25 })
      assert.ok(result.frames.length >= 25, result.stderr)
      child.kill('SIGINT')
      assert.deepEqual(await exited, [0, null])
      for (const pid of pids)
        assert.throws(() => process.kill(Number(pid), 0), /ESRCH/, `process ${pid} is gone`)
      for (const a of addresses)
        assert.deepEqual(await listeningPorts(a, [1935, 5080, 7800]), [], `nothing listens on ${a} any more`)
    } catch (err) {
      process.stderr.write(out)
      throw err
    } finally {
      child.kill('SIGKILL')
    }
  })

  test('refuses a bad address or node count with one clear line and exit 1', async () => {
    const bad = await runCli(['demo', '--address', '10.0.0.1'])
    assert.equal(bad.code, 1)
    assert.match(bad.stderr + bad.stdout, /--address must be an IPv4 loopback address/)
    const none = await runCli(['demo', '--origins', '0'])
    assert.equal(none.code, 1)
    assert.match(none.stderr + none.stdout, /--origins must be a whole number, at least 1/)
  })
})
