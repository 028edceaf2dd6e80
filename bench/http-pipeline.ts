// What one HTTP connection pipelining requests as fast as the node reads them costs an origin that
// serves a player: the origin's CPU and the player's longest gap while it runs, and what /api/status
// answers meanwhile. Usage: node bench/http-pipeline.ts [seconds]
import { readFileSync } from 'node:fs'
import net from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { playWsFlv, publish, TestCluster, waitFor } from '@meshcast/testing'

const SECONDS = Number(process.argv[2] ?? 10)
const cpuMs = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
  return (Number(f[11]) + Number(f[12])) * 10
}
const cluster = new TestCluster()
try {
  const origin = await cluster.start({ name: 'origin' })
  const publisher = await publish(`${origin.rtmpUrl}/live/p`, { seconds: 120 })
  const player = await playWsFlv(`${origin.httpUrl.replace(/^http/, 'ws')}/live/p.flv`)
  await waitFor(() => player.tags.filter((t) => t.type === 9).length > 50, { timeout: 20_000 })
  await sleep(4000)
  const pid = origin.child.pid as number
  const request = Buffer.from(`GET /api/streams HTTP/1.1\r\nHost: x\r\n\r\n`.repeat(200))
  const socket = net.connect({
    port: Number(new URL(origin.httpUrl).port),
    host: origin.host,
    localAddress: '127.222.1.3',
  })
  let answered = 0
  socket.on('data', (d) => {
    answered += d.toString('latin1').split('HTTP/1.1 200').length - 1
  })
  socket.on('error', () => undefined)
  await new Promise((r) => socket.once('connect', r))
  const t0 = Date.now()
  const c0 = cpuMs(pid)
  const status: number[] = []
  let running = true
  const prober = (async () => {
    while (running) {
      const s = performance.now()
      await fetch(`${origin.httpUrl}/api/status`).then((r) => r.text())
      status.push(performance.now() - s)
      await sleep(200)
    }
  })()
  while (Date.now() - t0 < SECONDS * 1000 && !socket.destroyed) {
    if (!socket.write(request)) await new Promise((r) => socket.once('drain', r))
  }
  running = false
  await prober
  const ms = Date.now() - t0
  const cpu = (cpuMs(pid) - c0) / ms
  const times = [t0, ...player.tags.filter((t) => t.type === 9 && t.at >= t0).map((t) => t.at), t0 + ms]
  let gap = 0
  for (let i = 1; i < times.length; i++) gap = Math.max(gap, (times[i] ?? 0) - (times[i - 1] ?? 0))
  status.sort((a, b) => a - b)
  console.log(
    `one pipelining connection for ${(ms / 1000).toFixed(1)} s: ${answered} answers (${Math.round(answered / (ms / 1000))}/s), ` +
      `origin CPU ${(cpu * 100).toFixed(0)} % of a core, player's longest gap ${gap} ms, ` +
      `/api/status p50 ${status[Math.floor(status.length / 2)]?.toFixed(0)} ms, worst ${status.at(-1)?.toFixed(0)} ms; connection ${socket.destroyed ? 'closed' : 'open'}`,
  )
  socket.destroy()
  player.close()
  await publisher.stop()
} finally {
  await cluster.stopAll()
}
