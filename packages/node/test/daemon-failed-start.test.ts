// A daemon whose start fails half-way (its HTTP port taken): what it opened is closed again and
// it does not start a second time. Its own file: one daemon per process (node-media-server).
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { clusterXml, loadConfig, red5Properties } from '@meshcast/config'
import { silentLogger } from '@meshcast/interface'
import { Daemon, DaemonStoppedError } from '../src/index.ts'

async function listen(port = 0): Promise<Server> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', resolve)
  })
  return server
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()))
}

test('a start that fails on a taken HTTP port closes the RTMP listener it opened, and the daemon does not start again', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'meshcast-daemon-'))
  const taken = await listen()
  t.after(async () => {
    rmSync(dir, { recursive: true, force: true })
    await close(taken)
  })
  const probe = await listen()
  const rtmp = (probe.address() as { port: number }).port
  await close(probe)
  writeFileSync(join(dir, 'cluster.xml'), clusterXml({ nodeType: 'off' }))
  writeFileSync(
    join(dir, 'red5.properties'),
    red5Properties({
      'rtmp.host': '127.0.0.1',
      'rtmp.port': rtmp,
      'http.host': '127.0.0.1',
      'http.port': (taken.address() as { port: number }).port,
    }),
  )
  const daemon = new Daemon(loadConfig(dir), silentLogger)
  await assert.rejects(daemon.start(), /EADDRINUSE|in use/i)
  // the RTMP port was bound before the HTTP listen failed: it is free again
  await close(await listen(rtmp))
  assert.deepEqual(
    Object.values(daemon.status().listeners).filter((l) => l.up),
    [],
    'no listener counts as up',
  )
  await assert.rejects(daemon.start(), DaemonStoppedError)
  await daemon.stop() // harmless after a failed start
})
