// What one address pipelining HTTP requests as fast as the node reads them (and reconnecting when
// closed, as an attacker would) costs an origin that serves a player: the origin's CPU, the player's
// longest gap and what /api/status answers meanwhile, with the request rate off
// (http.max_request_rate=0) and at its default (200 a second).
// Usage: node bench/http-pipeline.ts [seconds]; writes bench/results/http-pipeline.json.
import { readFileSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { playWsFlv, publish, TAG_VIDEO, TestCluster, waitFor } from '@meshcast/testing'
import { longestVideoGap, median, round } from './lib.ts'

const SECONDS = Number(process.argv[2] ?? 10)
const cpuMs = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
  return (Number(f[11]) + Number(f[12])) * 10
}

interface Run {
  mode: string
  seconds: number
  answered: number
  perSecond: number
  tooMany: number
  connections: number
  cpuPercent: number
  playerGapMs: number
  statusP50Ms: number | null
  statusWorstMs: number | null
}

async function run(mode: string, properties: Record<string, string | number>): Promise<Run> {
  const cluster = new TestCluster()
  try {
    const origin = await cluster.start({ name: 'origin', properties })
    const publisher = await publish(`${origin.rtmpUrl}/live/p`, { seconds: 120 })
    const player = await playWsFlv(`${origin.httpUrl.replace(/^http/, 'ws')}/live/p.flv`)
    await waitFor(() => player.tags.filter((t) => t.type === TAG_VIDEO).length > 50, { timeout: 20_000 })
    await sleep(4000)
    const pid = origin.child.pid as number
    const request = Buffer.from('GET /api/streams HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(200))
    let answered = 0
    let tooMany = 0
    let connections = 0
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
    while (Date.now() - t0 < SECONDS * 1000) {
      connections++
      await new Promise<void>((resolve) => {
        const socket = net.connect({
          port: Number(new URL(origin.httpUrl).port),
          host: origin.host,
          localAddress: '127.222.1.3',
        })
        socket.on('data', (d) => {
          const text = d.toString('latin1')
          answered += text.split('HTTP/1.1 200').length - 1
          tooMany += text.split('HTTP/1.1 429').length - 1
        })
        socket.on('error', () => undefined)
        const stop = setTimeout(() => socket.destroy(), Math.max(0, SECONDS * 1000 - (Date.now() - t0)))
        socket.on('close', () => {
          clearTimeout(stop)
          resolve()
        })
        const pump = () => {
          while (!socket.destroyed && socket.write(request));
          if (!socket.destroyed) socket.once('drain', pump)
        }
        socket.on('connect', pump)
      })
    }
    running = false
    await prober
    const ms = Date.now() - t0
    const cpu = (cpuMs(pid) - c0) / ms
    const gap = longestVideoGap(player.tags, t0, ms)
    const result: Run = {
      mode,
      seconds: round(ms / 1000) ?? 0,
      answered,
      perSecond: Math.round(answered / (ms / 1000)),
      tooMany,
      connections,
      cpuPercent: round(cpu * 100) ?? 0,
      playerGapMs: gap,
      statusP50Ms: round(median(status)),
      statusWorstMs: round(Math.max(...status)),
    }
    console.log(
      `${mode}: ${result.answered} answers in ${result.seconds} s (${result.perSecond}/s), ${tooMany} told 429, ` +
        `${connections} connections; origin CPU ${result.cpuPercent} % of a core, player's longest gap ${gap} ms, ` +
        `/api/status p50 ${result.statusP50Ms} ms, worst ${result.statusWorstMs} ms`,
    )
    player.close()
    await publisher.stop()
    return result
  } finally {
    await cluster.stopAll()
  }
}

const runs = [
  await run('rate off (http.max_request_rate=0)', { 'http.max_request_rate': 0 }),
  await run('default rate (200 a second)', {}),
]
const out = join(import.meta.dirname, 'results', 'http-pipeline.json')
writeFileSync(out, `${JSON.stringify({ date: new Date().toISOString(), runs }, null, 2)}\n`)
console.log(`results in ${out}`)
