// The HTTP request rate: the pure per-address turns (an injected clock), then the gate in front of a
// real node HTTP server with a real client pipelining requests from its own loopback address.
import assert from 'node:assert/strict'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import net from 'node:net'
import { after, before, describe, test } from 'node:test'
import { gateRequests } from '../src/http/request-gate.ts'
import { RequestRate } from '../src/http/request-rate.ts'

describe('RequestRate', () => {
  test('an idle address may make a burst at once; the next wait their turn, one interval apart', () => {
    const rate = new RequestRate(10, { burst: 3, maxWaitMs: 1000 })
    assert.deepEqual(
      [0, 0, 0, 0, 0].map(() => rate.admit('10.0.0.1', 0)),
      [0, 0, 0, 100, 200],
    )
    // time passing gives turns back, one per interval, up to the burst
    assert.equal(rate.admit('10.0.0.1', 1000), 0)
    assert.equal(rate.admit('10.0.0.1', 1000), 0)
    assert.equal(rate.admit('10.0.0.1', 1000), 0)
    assert.equal(rate.admit('10.0.0.1', 1000), 100)
  })

  test('a request whose turn is over maxWaitMs away is refused and takes no turn', () => {
    const rate = new RequestRate(10, { burst: 1, maxWaitMs: 250 })
    assert.deepEqual(
      [0, 0, 0, 0, 0].map(() => rate.admit('10.0.0.1', 0)),
      [0, 100, 200, -1, -1],
    )
    // the refused ones took nothing: at 100 ms the next turn is at 300 ms
    assert.equal(rate.admit('10.0.0.1', 100), 200)
  })

  test('addresses are counted apart; an IPv4 client on a dual-stack socket is the same address', () => {
    const rate = new RequestRate(1, { burst: 1 })
    assert.equal(rate.admit('10.0.0.1', 0), 0)
    assert.equal(rate.admit('::ffff:10.0.0.1', 0), 1000)
    assert.equal(rate.admit('10.0.0.2', 0), 0)
  })

  test('addresses whose turn has come are forgotten', () => {
    const rate = new RequestRate(100)
    for (let i = 0; i < 50; i++) rate.admit(`10.0.0.${i}`, 0)
    assert.equal(rate.size, 50)
    rate.admit('10.0.1.1', 20_000)
    assert.equal(rate.size, 1)
  })
})

/** Each request is answered with its own path, so order can be checked. */
interface Served {
  server: Server
  port: number
  /** requests node's parser handed over, held ones included */
  parsed: number
  /** performance.now() of each handler call */
  handled: number[]
  slowed: string[]
  refused: string[]
}

async function serve(rate: RequestRate): Promise<Served> {
  const served: Served = {
    server: null as unknown as Server,
    port: 0,
    parsed: 0,
    handled: [],
    slowed: [],
    refused: [],
  }
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    served.handled.push(performance.now())
    // 2 KiB answers: node's own output backpressure pauses and resumes the socket too
    res.end(`${req.url} ${'x'.repeat(2048)}`)
  }
  const server = createServer(
    gateRequests(handler, rate, {
      slowed: (_detail, remote) => served.slowed.push(remote ?? '?'),
      refused: (_detail, remote) => served.refused.push(remote ?? '?'),
    }),
  )
  server.prependListener('request', () => {
    served.parsed++
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  served.server = server
  served.port = (server.address() as net.AddressInfo).port
  return served
}

/**
 * Pipelines `count` GETs (`/0`, `/1`, …) from `from` at once, the last with `Connection: close`;
 * resolves with every response's status and body when the server closes the connection.
 */
function pipeline(port: number, from: string, count: number): Promise<{ status: number; body: string }[]> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1', localAddress: from })
    let got = ''
    socket.on('data', (d) => {
      got += d.toString('latin1')
    })
    socket.on('error', () => undefined)
    socket.on('close', () => {
      const answers = [...got.matchAll(/HTTP\/1\.1 (\d+)[\s\S]*?\r\n\r\n([^H]*)/g)].map((m) => ({
        status: Number(m[1]),
        body: (m[2] ?? '').split(' ')[0] ?? '',
      }))
      resolve(answers)
    })
    socket.on('connect', () => {
      const all = Array.from(
        { length: count },
        (_, i) => `GET /${i} HTTP/1.1\r\nHost: x\r\n${i === count - 1 ? 'Connection: close\r\n' : ''}\r\n`,
      ).join('')
      socket.write(all)
    })
  })
}

describe('the HTTP request gate', () => {
  // 200 per second, a burst of 200, and 500 ms of turns: 200 at once, then 100 paced, then 429
  const rate = new RequestRate(200, { maxWaitMs: 500 })
  let served: Served
  before(async () => {
    served = await serve(rate)
  })
  after(() => {
    served.server.closeAllConnections()
    served.server.close()
  })

  test('a client pipelining 20,000 requests is read no further, answered in order at the rate, then 429 and closed', async () => {
    const t0 = performance.now()
    const answers = await pipeline(served.port, '127.77.0.2', 20_000)
    const ok = answers.slice(0, -1)
    // in order, with nothing skipped (a few turns come back while the first read is parsed), the 429 last
    assert.deepEqual(
      ok.map((a) => `${a.status} ${a.body}`),
      ok.map((_, i) => `200 /${i}`),
    )
    assert.ok(ok.length >= 299 && ok.length <= 320, `answered ${ok.length}`)
    assert.equal(answers.at(-1)?.status, 429)
    // the paced ones went one turn (5 ms) apart: 100 of them take 500 ms
    const paced = served.handled.slice(200)
    assert.ok((paced.at(-1) ?? 0) - (paced[0] ?? 0) >= 450, 'paced requests were not spread over the queue')
    // what node parsed is one read's worth, not what the client sent
    assert.ok(served.parsed < 5000, `node parsed ${served.parsed} of 20,000 requests`)
    assert.deepEqual(served.slowed, ['127.77.0.2'])
    assert.deepEqual(served.refused, ['127.77.0.2'])
    process.stdout.write(
      `# pipelining 20,000: ${ok.length} answered in ${Math.round(performance.now() - t0)} ms, ${served.parsed} parsed, then 429\n`,
    )
  })

  test('a request over a full queue is answered 429 at once on its own connection; another address at once', async () => {
    // one a second, no queue: the second request of an address is over it
    const strict = await serve(new RequestRate(1, { burst: 1, maxWaitMs: 0 }))
    try {
      const [first] = await pipeline(strict.port, '127.77.0.3', 1)
      assert.equal(first?.status, 200)
      const t = performance.now()
      const refused = await new Promise<string>((resolve) => {
        const socket = net.connect({ port: strict.port, host: '127.0.0.1', localAddress: '127.77.0.3' })
        let got = ''
        socket.on('data', (d) => {
          got += d.toString('latin1')
        })
        socket.on('close', () => resolve(got))
        // no Connection: close: the server closes it
        socket.on('connect', () => socket.write('GET /late HTTP/1.1\r\nHost: x\r\n\r\n'))
      })
      assert.match(refused, /^HTTP\/1\.1 429 /)
      assert.match(refused, /\r\nRetry-After: 1\r\n/i)
      assert.match(refused, /\r\nConnection: close\r\n/i)
      assert.match(refused, /"too many requests"/)
      const [other] = await pipeline(strict.port, '127.77.0.4', 1)
      const ms = performance.now() - t
      assert.equal(other?.status, 200)
      assert.ok(ms < 500, `the 429 and the other address took ${ms} ms`)
      assert.deepEqual(strict.refused, ['127.77.0.3'])
      assert.deepEqual(strict.slowed, [])
    } finally {
      strict.server.closeAllConnections()
      strict.server.close()
    }
  })

  test('an attacker that reconnects at once costs a read per connection; the server stays responsive', async () => {
    /** pacing: another address asks once per this many ms, a client's pace, not a second flood */
    const PROBE_EVERY_MS = 50
    /** a window: how long the attacker pumps, dozens of connections' worth (the freeze it guards against held answers for minutes) */
    const PUMP_WINDOW_MS = 2500
    const parsedBefore = served.parsed
    const t0 = performance.now()
    let connections = 0
    const probes: number[] = []
    let pumping = true
    const prober = (async () => {
      while (pumping) {
        const t = performance.now()
        const [answer] = await pipeline(served.port, '127.77.0.6', 1)
        probes.push(answer?.status === 200 ? performance.now() - t : Number.POSITIVE_INFINITY)
        await new Promise((r) => setTimeout(r, PROBE_EVERY_MS))
      }
    })()
    // each connection sends 20,000 requests (540 kB) at once, and the next comes as soon as it is closed
    while (performance.now() - t0 < PUMP_WINDOW_MS) {
      connections++
      await pipeline(served.port, '127.77.0.5', 20_000)
    }
    pumping = false
    await prober
    const parsed = served.parsed - parsedBefore - probes.length
    const worst = Math.max(...probes)
    process.stdout.write(
      `# pumping for ${PUMP_WINDOW_MS / 1000} s over ${connections} connections: ${parsed} requests parsed; another address's worst answer ${worst.toFixed(0)} ms\n`,
    )
    // a freeze (node parsing all a pump sends, then shifting it out one by one) took minutes
    assert.ok(worst < 2000, `another address waited ${worst.toFixed(0)} ms`)
    assert.ok(parsed < 3000 * connections, `node parsed ${parsed} requests`)
  })
})
