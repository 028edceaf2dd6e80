// TLS end to end with certificates the test makes (openssl): RTMPS publish and play with ffmpeg,
// an edge pulling over RTMPS with the certificate checked against tls.ca (and refusing an upstream
// it cannot verify), HTTPS for the API and HTTPS-FLV in headless Chromium, a renewed certificate
// taken without a restart, and a plain client on the TLS ports closed with a counter. One origin
// and two edges, real processes, loopback only.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import https from 'node:https'
import net from 'node:net'
import { after, before, describe, test } from 'node:test'
import tls from 'node:tls'
import {
  makeTlsFiles,
  type NodeProcess,
  type Publisher,
  play,
  playWsFlv,
  publish,
  TAG_VIDEO,
  TestCluster,
  type TlsFiles,
  waitFor,
  withChromium,
} from '@meshcast/testing'

const RTMPS_PORT = 8443
const HTTPS_PORT = 5443

/** GET over HTTPS trusting only `ca`: the status and body. */
function httpsGet(url: string, ca: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca, timeout: 5000 }, (res) => {
        let body = ''
        res.setEncoding('utf8').on('data', (d: string) => {
          body += d
        })
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      })
      .on('error', reject)
  })
}

/** The serial number of the certificate a TLS listener presents now. */
function servedSerial(host: string, port: number, ca: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host, port, ca }, () => {
      resolve(socket.getPeerCertificate().serialNumber)
      socket.destroy()
    })
    socket.on('error', reject)
  })
}

/** base64 SHA-256 of the certificate's public key: what Chromium's --ignore-certificate-errors-spki-list trusts. */
function spkiHash(cert: string): string {
  const der = execFileSync('sh', [
    '-c',
    `openssl x509 -in '${cert}' -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64`,
  ])
  return der.toString().trim()
}

async function counter(node: NodeProcess, name: string, kind: string): Promise<number> {
  const text = await (await node.httpGet('/metrics')).text()
  const m = new RegExp(`^${name}\\{kind="${kind}"\\} (\\d+)`, 'm').exec(text)
  return Number(m?.[1] ?? 0)
}

async function total(node: NodeProcess, name: string): Promise<number> {
  const text = await (await node.httpGet('/metrics')).text()
  return Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1] ?? 0)
}

describe('TLS: RTMPS, HTTPS, pulls over RTMPS, certificate renewal', () => {
  const cluster = new TestCluster()
  let files: TlsFiles
  let origin: NodeProcess
  let edge: NodeProcess
  let stranger: NodeProcess
  let publisher: Publisher
  const ca = () => readFileSync(files.ca)

  before(async () => {
    files = makeTlsFiles({ ips: [cluster.address(0), cluster.address(1), cluster.address(2)] })
    const certificate = { 'tls.cert': files.cert, 'tls.key': files.key }
    origin = await cluster.start({
      name: 'origin',
      properties: { 'rtmps.port': RTMPS_PORT, 'https.port': HTTPS_PORT, ...certificate },
    })
    const toOrigin = { nodeType: 'edge' as const, origins: [`${origin.host}:${origin.rtmpPort}`] }
    edge = await cluster.start({
      name: 'edge',
      cluster: toOrigin,
      properties: { 'https.port': HTTPS_PORT, 'tls.ca': files.ca, ...certificate },
    })
    // trusts only node's built-in CAs: the test CA's certificate is not one it may accept
    stranger = await cluster.start({ name: 'edge-without-ca', cluster: { ...toOrigin, retryDuration: 1 } })
    publisher = await publish(`rtmps://${origin.host}:${RTMPS_PORT}/live/secure`, { seconds: 600 })
    await waitFor(
      async () => (await origin.httpGet('/api/streams')).text().then((t) => t.includes('/live/secure')),
      {
        timeout: 20_000,
        what: 'the RTMPS publish on the origin',
      },
    )
  })

  after(async () => {
    await publisher?.stop()
    await cluster.stopAll()
    files?.remove()
  })

  test('ffmpeg publishes over RTMPS and plays it back over RTMPS', async () => {
    const result = await play(`rtmps://${origin.host}:${RTMPS_PORT}/live/secure`, {
      frames: 30,
      timeout: 20_000,
    })
    assert.ok(result.frames.length >= 30, `ffmpeg decoded ${result.frames.length} frames over RTMPS`)
  })

  test('the edge pulls over RTMPS, the certificate checked against tls.ca, and serves the stream', async () => {
    const player = await playWsFlv(`${edge.httpUrl.replace(/^http/, 'ws')}/live/secure.flv`)
    try {
      await waitFor(() => player.tags.filter((t) => t.type === TAG_VIDEO).length >= 25, {
        timeout: 20_000,
        what: 'video at the edge',
      })
    } finally {
      player.close()
    }
    const pulling = edge.records().find((r) => r.message === 'pulling stream')
    assert.equal(pulling?.url, `rtmps://${origin.host}:${RTMPS_PORT}/live/secure`)
  })

  test(
    'an edge that cannot verify the origin certificate does not pull from it',
    cluster.reporting(async () => {
      const player = await playWsFlv(`${stranger.httpUrl.replace(/^http/, 'ws')}/live/secure.flv`)
      try {
        await waitFor(() => stranger.records().some((r) => /unable to verify/.test(String(r.error ?? ''))), {
          timeout: 20_000,
          what: "the edge without tls.ca to refuse the origin's certificate",
        })
        assert.equal(player.tags.filter((t) => t.type === TAG_VIDEO).length, 0)
      } finally {
        player.close()
      }
    }),
  )

  test('HTTPS answers the API with the certificate; a plain client on a TLS port is closed and counted', async () => {
    const status = await httpsGet(`https://${origin.host}:${HTTPS_PORT}/api/status`, ca())
    assert.equal(status.status, 200)
    assert.equal(JSON.parse(status.body).listeners.https.up, true)
    assert.equal(JSON.parse(status.body).listeners.rtmps.up, true)
    const before = await counter(origin, 'meshcast_rtmp_bound_breaks_total', 'tls-handshake')
    // an RTMP handshake (C0 + C1) where TLS is expected
    await new Promise<void>((resolve) => {
      const s = net.connect({ host: origin.host, port: RTMPS_PORT })
      s.on('connect', () => s.write(Buffer.concat([Buffer.from([3]), Buffer.alloc(1536)])))
      s.on('error', () => undefined)
      s.on('close', () => resolve())
    })
    await waitFor(
      async () => (await counter(origin, 'meshcast_rtmp_bound_breaks_total', 'tls-handshake')) > before,
      {
        timeout: 5000,
        what: 'the plain RTMP client on the RTMPS port to be counted',
      },
    )
    const plain = await fetch(`http://${origin.host}:${HTTPS_PORT}/api/status`).then(
      (r) => r.status,
      () => 0,
    )
    assert.notEqual(plain, 200)
    await waitFor(async () => (await counter(origin, 'meshcast_http_refused_total', 'tls-handshake')) > 0, {
      timeout: 5000,
      what: 'the plain HTTP client on the HTTPS port to be counted',
    })
  })

  test('HTTPS-FLV plays in headless Chromium from the edge (the dashboard player, mpegts.js)', (t) =>
    withChromium(
      async (browser) => {
        const page = await browser.newPage()
        await page.goto(`https://${edge.host}:${HTTPS_PORT}/?play=live/secure`)
        const currentTime = () =>
          page.locator('#video').evaluate((v) => (v as unknown as { currentTime: number }).currentTime)
        await waitFor(
          async () => {
            const state = (await page.locator('#player-state').textContent()) ?? ''
            assert.doesNotMatch(state, /error/, `the dashboard's player: ${state}`)
            return (await currentTime()) > 2
          },
          { timeout: 20_000, what: 'Chromium to play 2 s of HTTPS-FLV' },
        )
        // the page and its FLV both came over TLS, the certificate trusted by its key alone
        assert.equal(new URL(page.url()).protocol, 'https:')
      },
      { args: [`--ignore-certificate-errors-spki-list=${spkiHash(files.cert)}`] },
    )(t))

  test('a renewed certificate is served to the next connection without a restart', async () => {
    const old = await servedSerial(origin.host, RTMPS_PORT, ca())
    const oldHttps = await servedSerial(origin.host, HTTPS_PORT, ca())
    assert.equal(old, oldHttps)
    const from = origin.records().length
    files.renew()
    await waitFor(
      () =>
        origin
          .records()
          .slice(from)
          .some((r) => r.message === 'TLS certificate reloaded'),
      {
        timeout: 10_000,
        what: 'the origin to reload its certificate',
      },
    )
    const renewed = await servedSerial(origin.host, RTMPS_PORT, ca())
    assert.notEqual(renewed, old)
    assert.equal(await servedSerial(origin.host, HTTPS_PORT, ca()), renewed)
    // the publisher's connection, made with the old certificate, carries on
    assert.equal(publisher.child.exitCode, null)
  })

  test('HTTPS: one address pipelining as fast as it can is paced at the request rate or cut; others are served meanwhile', async () => {
    // its own loopback address: the request rate is per address
    const from = `127.251.${1 + Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`
    const before = {
      slowed: await total(origin, 'meshcast_http_slowed_total'),
      refused: await counter(origin, 'meshcast_http_refused_total', 'request-rate'),
    }
    /** a window: how long the flood goes on (its 429 comes after seconds of paced answers) */
    const FLOOD_MS = 4000
    /** a window within the flood in which another client asks, at this pace (a client's, not a second flood) */
    const OTHERS_FOR_MS = 3500
    const OTHERS_EVERY_MS = 200
    const request = Buffer.from('GET /api/status HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(200))
    const answers = { ok: 0, tooMany: 0, bad: 0 }
    let connections = 0
    const t0 = Date.now()
    const flood = (async () => {
      while (Date.now() - t0 < FLOOD_MS) {
        connections++
        await new Promise<void>((resolve) => {
          const tcp = net.connect({ host: origin.host, port: HTTPS_PORT, localAddress: from })
          const socket = tls.connect({ socket: tcp, host: origin.host, ca: ca() })
          socket.on('data', (d: Buffer) => {
            const text = d.toString('latin1')
            answers.ok += text.split('HTTP/1.1 200').length - 1
            answers.tooMany += text.split('HTTP/1.1 429').length - 1
            answers.bad += text.split('HTTP/1.1 400').length - 1
          })
          socket.on('error', () => undefined)
          socket.on('close', () => resolve())
          const stop = setTimeout(() => socket.destroy(), Math.max(0, FLOOD_MS - (Date.now() - t0)))
          socket.once('close', () => clearTimeout(stop))
          const pump = () => {
            while (!socket.destroyed && socket.write(request));
            if (!socket.destroyed) socket.once('drain', pump)
          }
          socket.on('secureConnect', pump)
        })
      }
    })()
    // another client, meanwhile, over HTTPS too
    const others: number[] = []
    while (Date.now() - t0 < OTHERS_FOR_MS) {
      others.push((await httpsGet(`https://${origin.host}:${HTTPS_PORT}/api/status`, ca())).status)
      await new Promise((r) => setTimeout(r, OTHERS_EVERY_MS))
    }
    await flood
    const seconds = (Date.now() - t0) / 1000
    process.stdout.write(
      `# HTTPS pipelining from one address for ${seconds.toFixed(1)} s: ${answers.ok} answered, ` +
        `${answers.tooMany} told 429, ${answers.bad} told 400, ${connections} connections; others: ${others.join(' ')}\n`,
    )
    assert.ok(answers.ok <= 200 + 200 * seconds * 1.1, `answered ${answers.ok} in ${seconds.toFixed(1)} s`)
    assert.ok(
      others.every((s) => s === 200),
      `another client's answers: ${others.join(' ')}`,
    )
    const after = {
      slowed: await total(origin, 'meshcast_http_slowed_total'),
      refused: await counter(origin, 'meshcast_http_refused_total', 'request-rate'),
    }
    assert.ok(
      after.slowed > before.slowed || after.refused > before.refused || answers.bad > 0,
      `neither paced nor cut: ${JSON.stringify({ before, after, answers })}`,
    )
    assert.equal(origin.exit, null, 'the origin is up')
  })

  test('no key material or credential in any log line', () => {
    for (const node of cluster.nodes)
      for (const line of node.records())
        assert.ok(
          !/PRIVATE KEY|BEGIN CERTIFICATE/.test(JSON.stringify(line)),
          `${node.name}: ${JSON.stringify(line)}`,
        )
  })
})
