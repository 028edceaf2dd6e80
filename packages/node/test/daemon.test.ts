// One daemon in this process (node-media-server is a process-wide singleton): started, stopped,
// and refused a second start. node --test runs each file in its own process.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { clusterXml, loadConfig, red5Properties } from '@meshcast/config'
import { silentLogger } from '@meshcast/interface'
import { Daemon, DaemonStoppedError } from '../src/index.ts'

/** A port nothing listens on now, on loopback. */
async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

test('a stopped daemon does not start again: start() throws DaemonStoppedError and opens nothing', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'meshcast-daemon-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const [rtmp, http] = [await freePort(), await freePort()]
  writeFileSync(join(dir, 'cluster.xml'), clusterXml({ nodeType: 'off' }))
  writeFileSync(
    join(dir, 'red5.properties'),
    red5Properties({
      'rtmp.host': '127.0.0.1',
      'rtmp.port': rtmp,
      'http.host': '127.0.0.1',
      'http.port': http,
    }),
  )
  const daemon = new Daemon(loadConfig(dir), silentLogger)
  await daemon.start()
  await daemon.start() // a second start while running: the same start
  assert.equal((await fetch(`http://127.0.0.1:${http}/api/status`)).status, 200)
  await daemon.stop()
  await assert.rejects(daemon.start(), DaemonStoppedError)
  await assert.rejects(
    fetch(`http://127.0.0.1:${http}/api/status`),
    'nothing listens after the refused start',
  )
  await daemon.stop() // a second stop is harmless
})
