import assert from 'node:assert/strict'
import { existsSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import {
  listeningPorts,
  loopbackSubnet,
  NodeProcess,
  uniquePassword,
  waitFor,
  writeConfDir,
} from '@meshcast/testing'

const ROOT = join(import.meta.dirname, '..')
/** What `pnpm exec meshcast` and a systemd unit run: pnpm's shim for the package's bin. */
const SHIM = join(ROOT, 'node_modules', '.bin', 'meshcast')
const PORTS = [1935, 5080, 7800]

/** Pids of every process whose command line names `conf` (each test has its own folder). */
function processesOf(conf: string): number[] {
  const pids: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').includes(conf)) pids.push(Number(entry))
    } catch {
      // it exited while we looked
    }
  }
  return pids
}

describe('signals through node_modules/.bin/meshcast', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    test(`${signal} to the pid that started it stops the node gracefully: exit 0, nothing left, ports free`, async (t) => {
      assert.ok(existsSync(SHIM), `${SHIM} is missing: run npx -y pnpm@10 install`)
      const host = loopbackSubnet()(0)
      const conf = writeConfDir({ password: uniquePassword() }, { 'mesh.mdns': 'false' })
      const node = new NodeProcess({
        name: `via-shim-${signal}`,
        conf,
        host,
        // the launcher's [node, meshcast.js, ...args] becomes [.bin/meshcast, ...args]
        wrap: ([, , ...args]) => [SHIM, ...args],
      })
      t.after(async () => {
        await node.stop()
        // an orphan the shim left would hold the ports for the tests after this one
        for (const pid of processesOf(conf)) process.kill(pid, 'SIGKILL')
        rmSync(conf, { recursive: true, force: true })
      })
      try {
        await node.ready()
        const pid = node.child.pid ?? -1
        assert.equal(
          realpathSync(readlinkSync(`/proc/${pid}/exe`)),
          realpathSync(process.execPath),
          'the pid the shim started is Node itself, not a shell',
        )
        assert.deepEqual(await listeningPorts(host, PORTS), PORTS)
        node.kill(signal)
        assert.deepEqual(await node.exited, { code: 0, signal: null })
        const stopping = node.records().find((r) => r.message === 'stopping')
        assert.equal(stopping?.reason, signal)
        assert.ok(
          node.records().some((r) => r.message === 'stopped'),
          'a graceful stop was logged',
        )
        assert.deepEqual(processesOf(conf), [], 'no meshcast process stays behind')
        assert.deepEqual(await listeningPorts(host, PORTS), [], 'nothing listens any more')
      } catch (err) {
        t.diagnostic(node.log())
        throw err
      }
    })
  }

  test("a SIGINT repeated as the node starts stopping (a terminal's Ctrl-C under pnpm, which passes it on) is one graceful stop: exit 0", async (t) => {
    const host = loopbackSubnet()(0)
    const conf = writeConfDir({ password: uniquePassword() }, { 'mesh.mdns': 'false' })
    const node = new NodeProcess({ name: 'double-sigint', conf, host })
    t.after(async () => {
      await node.stop()
      rmSync(conf, { recursive: true, force: true })
    })
    try {
      await node.ready()
      node.kill('SIGINT')
      // the copy comes once the node is already stopping (two at once would reach it as one)
      await waitFor(() => node.records().some((r) => r.message === 'stopping') || undefined, {
        timeout: 5000,
        what: 'the node to start stopping',
      })
      node.kill('SIGINT')
      assert.deepEqual(await node.exited, { code: 0, signal: null })
      assert.ok(
        node.records().some((r) => r.message === 'stopped'),
        'a graceful stop was logged',
      )
      assert.ok(
        !node.records().some((r) => /second signal/.test(String(r.message))),
        'not taken for a second signal',
      )
    } catch (err) {
      t.diagnostic(node.log())
      throw err
    }
  })

  test('SIGTERM while the node is still starting stops it gracefully once it is up: exit 0, no default-action death', async (t) => {
    const host = loopbackSubnet()(0)
    // an origin that lists a seed nobody answers: its start waits for the join timeout
    const conf = writeConfDir(
      { password: uniquePassword() },
      { 'mesh.mdns': 'false', 'mesh.peers': '127.0.0.254' },
    )
    const node = new NodeProcess({ name: 'early-sigterm', conf, host })
    t.after(async () => {
      await node.stop()
      rmSync(conf, { recursive: true, force: true })
    })
    try {
      await waitFor(async () => node.records().length > 0 || undefined, {
        timeout: 20_000,
        what: 'its first log line',
      })
      assert.ok(!node.records().some((r) => r.message === 'ready'), 'the signal comes before ready')
      node.kill('SIGTERM')
      assert.deepEqual(await node.exited, { code: 0, signal: null })
      assert.equal(node.records().find((r) => r.message === 'stopping')?.reason, 'SIGTERM')
      assert.ok(node.records().some((r) => r.message === 'stopped'))
      assert.deepEqual(await listeningPorts(host, PORTS), [], 'nothing listens any more')
    } catch (err) {
      t.diagnostic(node.log())
      throw err
    }
  })
})
