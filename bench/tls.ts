// Benchmark: what TLS costs an origin. One origin with RTMPS and HTTPS (a certificate made with
// openssl, P-256) and an ffmpeg publisher; then
// - setup: RUNS TLS handshakes alone; RUNS ffmpeg plays (spawn to exit after the first video
//   frame, stream copied) over RTMP and over RTMPS; RUNS HTTP-FLV and HTTPS-FLV requests to their
//   status line;
// - CPU: the origin's CPU over SECONDS with no player, with PLAYERS ffmpeg players over RTMP, and
//   with as many over RTMPS (ffmpeg copying the stream, not decoding it): per player, each minus
//   the idle figure.
// Usage: npx -y pnpm@10 bench:tls [runs] [players] [seconds]; writes bench/results/tls.json.
import { spawn } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import { join } from 'node:path'
import tls from 'node:tls'
import { ffmpegPath } from '@meshcast/node/ffmpeg'
import { makeTlsFiles, publish, TestCluster, waitFor } from '@meshcast/testing'
import { median, progress, progressDone, round, sleep } from './lib.ts'

const RUNS = Number(process.argv[2] ?? 20)
const PLAYERS = Number(process.argv[3] ?? 20)
const SECONDS = Number(process.argv[4] ?? 15)
const RTMPS_PORT = 8443
const HTTPS_PORT = 5443

const cpuMs = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
  return (Number(f[11]) + Number(f[12])) * 10
}

const cluster = new TestCluster()
const files = makeTlsFiles({ ips: [cluster.address(0)] })
const ca = readFileSync(files.ca)
try {
  const origin = await cluster.start({
    name: 'origin',
    properties: {
      'rtmps.port': RTMPS_PORT,
      'https.port': HTTPS_PORT,
      'tls.cert': files.cert,
      'tls.key': files.key,
    },
  })
  const publisher = await publish(`${origin.rtmpUrl}/live/b`, { seconds: 3600 })
  await waitFor(async () => (await (await origin.httpGet('/api/streams')).text()).includes('/live/b'), {
    timeout: 20_000,
  })
  await sleep(3000)
  const pid = origin.child.pid as number
  const plainUrl = `${origin.rtmpUrl}/live/b`
  const secureUrl = `rtmps://${origin.host}:${RTMPS_PORT}/live/b`

  const handshake = () =>
    new Promise<number>((resolve, reject) => {
      const t0 = performance.now()
      const s = tls.connect({ host: origin.host, port: RTMPS_PORT, ca }, () => {
        resolve(performance.now() - t0)
        s.destroy()
      })
      s.on('error', reject)
    })
  const ffmpegPlay = (url: string, frames: number | null) => {
    const args = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-i', url, '-map', '0:v:0', '-c', 'copy']
    if (frames !== null) args.push('-frames:v', String(frames))
    return spawn(ffmpegPath(), [...args, '-f', 'null', '-'], { stdio: 'ignore' })
  }
  const playSetup = (url: string) =>
    new Promise<number>((resolve) => {
      const t0 = performance.now()
      ffmpegPlay(url, 1).once('exit', () => resolve(performance.now() - t0))
    })
  const statusLine = (url: string) =>
    new Promise<number>((resolve, reject) => {
      const t0 = performance.now()
      const get = url.startsWith('https:') ? https.get(url, { ca }) : http.get(url)
      get.once('response', (res) => {
        resolve(performance.now() - t0)
        res.destroy()
      })
      get.on('error', reject)
    })
  const timed = async (what: string, one: () => Promise<number>) => {
    const ms: number[] = []
    for (let i = 0; i < RUNS; i++) {
      progress(`${what} ${i + 1}/${RUNS}`)
      ms.push(await one())
    }
    return round(median(ms))
  }
  const setup = {
    tlsHandshakeMs: await timed('TLS handshake', handshake),
    rtmpPlayMs: await timed('ffmpeg RTMP play', () => playSetup(plainUrl)),
    rtmpsPlayMs: await timed('ffmpeg RTMPS play', () => playSetup(secureUrl)),
    httpFlvMs: await timed('HTTP-FLV', () => statusLine(`${origin.httpUrl}/live/b.flv`)),
    httpsFlvMs: await timed('HTTPS-FLV', () => statusLine(`https://${origin.host}:${HTTPS_PORT}/live/b.flv`)),
  }
  progressDone()
  const cpuOver = async (url: string | null) => {
    const players = url === null ? [] : Array.from({ length: PLAYERS }, () => ffmpegPlay(url, null))
    await sleep(3000)
    const c0 = cpuMs(pid)
    const t0 = Date.now()
    progress(`CPU with ${players.length} players ${url?.split(':')[0] ?? ''}`)
    await sleep(SECONDS * 1000)
    const percent = ((cpuMs(pid) - c0) / (Date.now() - t0)) * 100
    for (const p of players) p.kill('SIGKILL')
    await sleep(1000)
    return percent
  }
  const idle = await cpuOver(null)
  const plain = await cpuOver(plainUrl)
  const secure = await cpuOver(secureUrl)
  progressDone()
  const cpu = {
    players: PLAYERS,
    idlePercent: round(idle),
    rtmpPercent: round(plain),
    rtmpsPercent: round(secure),
    perRtmpPlayerPercent: round((plain - idle) / PLAYERS, 2),
    perRtmpsPlayerPercent: round((secure - idle) / PLAYERS, 2),
  }
  console.log(
    `setup (medians of ${RUNS}): TLS handshake ${setup.tlsHandshakeMs} ms; ffmpeg play to its first frame ` +
      `${setup.rtmpPlayMs} ms over RTMP, ${setup.rtmpsPlayMs} ms over RTMPS; FLV status line ${setup.httpFlvMs} ms ` +
      `over HTTP, ${setup.httpsFlvMs} ms over HTTPS`,
  )
  console.log(
    `origin CPU over ${SECONDS} s: idle ${cpu.idlePercent} %, ${PLAYERS} RTMP players ${cpu.rtmpPercent} %, ` +
      `${PLAYERS} RTMPS players ${cpu.rtmpsPercent} %: per player ${cpu.perRtmpPlayerPercent} % (RTMP), ` +
      `${cpu.perRtmpsPlayerPercent} % (RTMPS) of a core`,
  )
  const out = join(import.meta.dirname, 'results', 'tls.json')
  writeFileSync(
    out,
    `${JSON.stringify({ date: new Date().toISOString(), runs: RUNS, setup, cpu }, null, 2)}\n`,
  )
  console.log(`results in ${out}`)
  await publisher.stop()
} finally {
  await cluster.stopAll()
  files.remove()
}
