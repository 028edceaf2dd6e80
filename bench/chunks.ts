// What one connection sending 1-byte RTMP chunks costs an origin that serves a player, with the
// chunk-rate throttle on (rtmp.max_chunk_rate's default) and off (0), in one run: the origin's CPU
// while the connection sends, and the player's longest gap. The connection never publishes, so the
// setup bound (rtmp.setup_timeout, 10 s) ends it. Usage: node bench/chunks.ts; writes bench/results/chunks.json.
import { randomBytes } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { playWsFlv, publish, TAG_VIDEO, TestCluster, waitFor } from '@meshcast/testing'
import { longestVideoGap, progress, progressDone, round } from './lib.ts'

const C0C1 = Buffer.concat([Buffer.from([3]), Buffer.alloc(8), randomBytes(1528)])
/** Set Chunk Size 1: sent once, before the first block (a second one would arrive in 1-byte chunks). */
const CHUNK_SIZE_1 = Buffer.from([2, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0, 0, 0, 0, 1])
/** 8 messages of 60,000 bytes (type 3, acknowledgement) in 1-byte chunks: 2 bytes a chunk. */
const BLOCK = (() => {
  const body = Buffer.alloc(59_999 * 2)
  for (let i = 0; i < 59_999; i++) body[i * 2] = 0xc3
  const header = Buffer.from([3, 0, 0, 0, 0, 0xea, 0x60, 3, 0, 0, 0, 0, 0])
  return Buffer.concat(Array.from({ length: 8 }, () => [header, body]).flat())
})()
const TICK_MS = 1000 / 100 // /proc/<pid>/stat counts in clock ticks (USER_HZ 100)
const cpuMs = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
  return (Number(f[11]) + Number(f[12])) * TICK_MS
}

interface Run {
  'rtmp.max_chunk_rate': number | 'default'
  'idle CPU (% of a core)': number | null
  'CPU under 1-byte chunks (% of a core)': number | null
  'chunks written (k/s)': number
  'seconds open': number | null
  "player's longest gap (ms)": number
  'slowed lines': number
}

async function measure(rate: number | undefined): Promise<Run> {
  const cluster = new TestCluster()
  try {
    const origin = await cluster.start({
      name: 'origin',
      properties: rate === undefined ? {} : { 'rtmp.max_chunk_rate': rate },
    })
    const publisher = await publish(`${origin.rtmpUrl}/live/tiny`, { seconds: 120 })
    const player = await playWsFlv(`${origin.httpUrl.replace(/^http/, 'ws')}/live/tiny.flv`)
    await waitFor(() => player.tags.filter((t) => t.type === TAG_VIDEO).length > 50, { timeout: 20_000 })
    await sleep(4000)
    const pid = origin.child.pid as number
    const idle0 = cpuMs(pid)
    await sleep(5000)
    const idle = (cpuMs(pid) - idle0) / 5000
    const socket = net.connect({ port: origin.rtmpPort, host: origin.host, localAddress: '127.222.1.2' })
    let got = 0
    let sent = 0
    let closed = false
    socket.on('data', (d) => {
      got += d.length
    })
    socket.on('error', () => undefined)
    socket.on('close', () => {
      closed = true
    })
    await new Promise((r) => socket.once('connect', r))
    socket.write(C0C1)
    await waitFor(() => got >= 3073, { timeout: 5000, what: 'the handshake' })
    socket.write(Buffer.alloc(1536))
    socket.write(CHUNK_SIZE_1)
    const t0 = Date.now()
    const c0 = cpuMs(pid)
    while (Date.now() - t0 < 15_000 && !closed) {
      if (!socket.write(BLOCK))
        await new Promise<void>((r) => {
          const done = () => {
            socket.off('drain', done)
            socket.off('close', done)
            r()
          }
          socket.on('drain', done)
          socket.on('close', done)
        })
      sent += BLOCK.length
    }
    const ms = Date.now() - t0
    const busy = (cpuMs(pid) - c0) / ms
    const gap = longestVideoGap(player.tags, t0, ms)
    const slowed = origin.records().filter((r) => /chunk rate/.test(String(r.message))).length
    socket.destroy()
    player.close()
    await publisher.stop()
    return {
      'rtmp.max_chunk_rate': rate ?? 'default',
      'idle CPU (% of a core)': round(idle * 100),
      'CPU under 1-byte chunks (% of a core)': round(busy * 100),
      'chunks written (k/s)': Math.round(sent / 2 / ms),
      'seconds open': round(ms / 1000),
      "player's longest gap (ms)": gap,
      'slowed lines': slowed,
    }
  } finally {
    await cluster.stopAll()
  }
}

const runs: Run[] = []
for (const rate of [undefined, 0]) {
  progress(`1-byte chunks, rtmp.max_chunk_rate ${rate ?? 'default'}`)
  runs.push(await measure(rate))
}
progressDone()
console.table(runs)
const out = join(import.meta.dirname, 'results', 'chunks.json')
writeFileSync(out, `${JSON.stringify({ date: new Date().toISOString(), runs }, null, 2)}\n`)
console.log(`written ${out}`)
