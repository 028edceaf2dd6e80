import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import {
  isListening,
  listeningPorts,
  play,
  publish,
  TestCluster,
  waitFor,
  withCluster,
} from '@meshcast/testing'

describe('a standalone node (nodeType off)', () => {
  test(
    'takes an RTMP publish and serves it to an RTMP player',
    withCluster(async (cluster) => {
      const node = await cluster.start({ cluster: { nodeType: 'off' } })
      const url = `${node.rtmpUrl}/live/standalone`
      const publisher = await publish(url)
      try {
        await waitFor(() => node.records().some((r) => r.message === 'publish'), {
          what: 'the publish event',
        })
        const result = await play(url, { frames: 50 })
        assert.equal(result.code, 0, result.stderr)
        assert.ok(result.frames.length >= 50, `decoded ${result.frames.length} frames`)
        const pts = result.frames.map((f) => f.pts)
        assert.deepEqual(
          pts,
          [...pts].sort((a, b) => a - b),
          'presentation times increase',
        )
      } finally {
        await publisher.stop()
      }
    }),
  )

  test(
    'reports id, role, version, listeners and ready on /api/status',
    withCluster(async (cluster) => {
      const launched = performance.now()
      const node = await cluster.start({ cluster: { nodeType: 'off' } })
      const status = await node.status()
      const sinceLaunch = (performance.now() - launched) / 1000
      assert.match(status.id, /^12D3KooW[1-9A-HJ-NP-Za-km-z]{44}$/)
      assert.equal(status.role, 'standalone')
      assert.match(status.version, /^\d+\.\d+\.\d+/)
      assert.equal(status.ready, true)
      assert.deepEqual(status.listeners, {
        rtmp: { address: `${node.host}:1935`, up: true },
        http: { address: `${node.host}:5080`, up: true },
      })
      // seconds, to a tenth, since the process started: within the time since the test launched it
      assert.ok(
        status.uptime >= 0 && status.uptime <= Math.ceil(sinceLaunch * 10) / 10,
        `uptime ${status.uptime} s, launched ${sinceLaunch.toFixed(2)} s ago`,
      )
      const missing = await fetch(`${node.httpUrl}/api/nope`)
      assert.equal(missing.status, 404)
    }),
  )

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    test(
      `stops on ${signal} with exit 0 and its ports closed`,
      withCluster(async (cluster) => {
        const node = await cluster.start({ cluster: { nodeType: 'off' } })
        const publisher = await publish(`${node.rtmpUrl}/live/stopping`)
        try {
          await waitFor(() => node.records().some((r) => r.message === 'publish'), { what: 'the publish' })
          node.kill(signal)
          const exit = await node.exited
          assert.deepEqual(exit, { code: 0, signal: null })
          assert.deepEqual(await listeningPorts(node.host, [1935, 5080]), [])
          assert.ok(node.records().some((r) => r.message === 'stopped'))
        } finally {
          await publisher.stop()
        }
      }),
    )
  }

  test(
    'stops by itself when its supervisor goes away (stdin closes)',
    withCluster(async (cluster) => {
      const node = await cluster.start({ cluster: { nodeType: 'off' } })
      node.child.stdin?.end()
      assert.deepEqual(await node.exited, { code: 0, signal: null })
    }),
  )

  test(
    'survives garbage on its RTMP port and keeps serving',
    withCluster(async (cluster) => {
      const node = await cluster.start({ cluster: { nodeType: 'off' } })
      for (let i = 0; i < 5; i++) {
        await new Promise<void>((resolve) => {
          const socket = net.connect({ host: node.host, port: 1935 }, () => {
            socket.end(Buffer.from(Array.from({ length: 4096 }, (_, j) => (j * 7919 + i) % 256)))
          })
          socket.resume() // read what the server answers, so its end reaches us
          socket.on('close', () => resolve())
          socket.on('error', () => resolve())
        })
      }
      assert.equal((await node.status()).ready, true)
      assert.equal(node.exit, null)
    }),
  )

  test('writes nothing into the working directory', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'meshcast-cwd-'))
    const cluster = new TestCluster()
    try {
      const node = await cluster.start({ cluster: { nodeType: 'off' }, cwd })
      const publisher = await publish(`${node.rtmpUrl}/live/nothing-on-disk`)
      await waitFor(() => node.records().some((r) => r.message === 'publish'), { what: 'the publish' })
      await publisher.stop()
      await node.stop()
      assert.deepEqual(readdirSync(cwd), [])
    } finally {
      await cluster.stopAll()
      rmSync(cwd, { recursive: true, force: true })
    }
  })
})

describe('listener failures', () => {
  for (const [listener, port] of [
    ['RTMP', 1935],
    ['HTTP', 5080],
    ['mesh', 7800],
  ] as const) {
    test(
      `a busy ${listener} port is one clear error naming the listener and address, exit 1`,
      withCluster(async (cluster) => {
        const host = cluster.address()
        const squatter = net.createServer()
        await new Promise<void>((resolve) => squatter.listen(port, host, resolve))
        try {
          // the mesh listens on a clustered node only
          const nodeType = listener === 'mesh' ? 'origin' : 'off'
          const node = await cluster.start({ cluster: { nodeType }, ready: false })
          const exit = await node.exited
          assert.equal(exit.code, 1)
          const errors = node.records().filter((r) => r.level === 'error')
          assert.equal(errors.length, 1, node.log())
          assert.match(
            String(errors[0]?.message),
            new RegExp(
              `^${listener} listener cannot bind ${host.replaceAll('.', '\\.')}:${port}: the address is already in use`,
            ),
          )
          assert.deepEqual(
            await listeningPorts(
              host,
              [1935, 5080].filter((p) => p !== port),
            ),
            [],
          )
        } finally {
          squatter.close()
        }
      }),
    )
  }

  test(
    'an address no interface has is a clear error, exit 1',
    withCluster(async (cluster) => {
      // 192.0.2.0/24 is TEST-NET-1: never assigned, so bind fails locally and nothing is sent
      const node = await cluster.start({
        cluster: { nodeType: 'off' },
        ready: false,
        args: ['--host', '192.0.2.1'],
      })
      const exit = await node.exited
      assert.equal(exit.code, 1)
      assert.ok(
        node
          .records()
          .some((r) =>
            /listener cannot bind 192\.0\.2\.1:\d+: no network interface has this address/.test(
              String(r.message),
            ),
          ),
        node.log(),
      )
      assert.equal(await isListening('192.0.2.1', 1935, 200), false)
    }),
  )
})
