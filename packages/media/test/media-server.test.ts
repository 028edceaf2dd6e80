import assert from 'node:assert/strict'
import { randomInt } from 'node:crypto'
import net from 'node:net'
import { describe, test } from 'node:test'
import { ListenError, silentLogger } from '@meshcast/interface'
import { MediaServer, MediaSingletonError } from '../src/index.ts'

/** Addresses in a random 127.a.b.0/24, so parallel test files do not collide (no @meshcast/testing here: it depends on us). */
function loopbackSubnet(): (i: number) => string {
  const a = randomInt(1, 255)
  const b = randomInt(0, 256)
  return (i) => `127.${a}.${b}.${i + 2}`
}

describe('MediaServer', () => {
  test('start and stop are safe to repeat, and the port is free after stop', async () => {
    const host = loopbackSubnet()(0)
    const media = new MediaServer({ rtmp: { host, port: 1935 } }, { logger: silentLogger })
    await media.start()
    await media.start()
    await media.stop()
    await media.stop()
    const probe = net.createServer()
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject)
      probe.listen(1935, host, resolve)
    })
    probe.close()
  })

  test('refuses a second media server in one process', async () => {
    const subnet = loopbackSubnet()
    const first = new MediaServer({ rtmp: { host: subnet(0), port: 1935 } }, { logger: silentLogger })
    const second = new MediaServer({ rtmp: { host: subnet(1), port: 1935 } }, { logger: silentLogger })
    await first.start()
    try {
      await assert.rejects(second.start(), MediaSingletonError)
    } finally {
      await first.stop()
    }
  })

  test('a busy port is a ListenError and leaves the process free to start another', async () => {
    const host = loopbackSubnet()(0)
    const squatter = net.createServer()
    await new Promise<void>((resolve) => squatter.listen(1935, host, resolve))
    const media = new MediaServer({ rtmp: { host, port: 1935 } }, { logger: silentLogger })
    try {
      await assert.rejects(media.start(), (err: unknown) => {
        assert.ok(err instanceof ListenError)
        assert.equal(err.listener, 'RTMP')
        assert.equal(err.address, `${host}:1935`)
        return true
      })
    } finally {
      squatter.close()
    }
    const other = new MediaServer({ rtmp: { host, port: 1936 } }, { logger: silentLogger })
    await other.start()
    await other.stop()
  })
})
