import assert from 'node:assert/strict'
import { randomInt } from 'node:crypto'
import http from 'node:http'
import net from 'node:net'
import { describe, test } from 'node:test'
import { ListenError, RelayClosedError, silentLogger } from '@meshcast/interface'
import { MediaServer, MediaSingletonError, RelayOpenError } from '../src/index.ts'

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

describe('MediaServer relays and FLV', () => {
  test('open() takes one relay per /app/name path; odd paths are refused', () => {
    const media = new MediaServer(
      { rtmp: { host: loopbackSubnet()(0), port: 1935 } },
      { logger: silentLogger },
    )
    const relays = media.relays()
    for (const path of ['live/a', '/live/a.b', '/live/a/b', '/live/', '/li ve/a']) {
      assert.throws(() => relays.open(path), RelayOpenError, path)
    }
    const relay = relays.open('/live/a')
    assert.throws(() => relays.open('/live/a'), /already open/)
    relay.close(true)
    relays.open('/live/a').close(false)
    assert.equal(relays.subscribers('/live/none'), 0)
    assert.equal(relays.published('/live/none'), false)
    relays.kick('/live/none', 'nothing to kick')
  })

  test('a pull on a closed relay is rejected with RelayClosedError', async () => {
    const media = new MediaServer(
      { rtmp: { host: loopbackSubnet()(0), port: 1935 } },
      { logger: silentLogger },
    )
    const relay = media.relays().open('/live/a')
    relay.close(false)
    await assert.rejects(relay.pull('rtmp://127.0.0.1:1/live/a'), RelayClosedError)
  })

  test('FLV requests are answered 503 while the server is stopped; other URLs fall through', async () => {
    const host = loopbackSubnet()(0)
    const media = new MediaServer({ rtmp: { host, port: 1935 } }, { logger: silentLogger })
    const web = http.createServer((req, res) => {
      if (!media.flvRequest(req, res)) res.writeHead(404).end()
    })
    await new Promise<void>((resolve) => web.listen(0, host, resolve))
    const { port } = web.address() as net.AddressInfo
    try {
      assert.equal((await fetch(`http://${host}:${port}/live/a.flv`)).status, 503)
      assert.equal((await fetch(`http://${host}:${port}/live/a`)).status, 404)
      const preflight = await fetch(`http://${host}:${port}/live/a.flv`, { method: 'OPTIONS' })
      assert.equal(preflight.status, 204)
      assert.equal(preflight.headers.get('access-control-allow-origin'), '*')
      const post = await fetch(`http://${host}:${port}/live/a.flv`, { method: 'POST', body: 'x' })
      assert.equal(post.status, 403)
      assert.match(await post.text(), /publish over RTMP/)
    } finally {
      web.close()
    }
  })
})
