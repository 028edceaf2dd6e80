// Strangers on the RTMP port: garbage, a handshake then absurd chunk headers, and connections that
// never publish or play. Each is closed by a bound (one log line a kind, a counter), and the
// node's memory and its player do not suffer. Real processes, loopback only.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import net from 'node:net'
import { describe, test } from 'node:test'
import { type FlvTag, type NodeProcess, playWsFlv, publish, waitFor, withCluster } from '@meshcast/testing'

/** C0 (version 3) + C1 (time, zero, random): the plain handshake every client may send. */
const C0C1 = Buffer.concat([Buffer.from([3]), Buffer.alloc(8), randomBytes(1528)])
/** S0 + S1 + S2 */
const SERVER_HANDSHAKE = 1 + 1536 + 1536

/** The node's resident memory, MiB. */
function rssMiB(node: NodeProcess): number {
  const status = readFileSync(`/proc/${node.child.pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024
}

/** Opens a connection and resolves when the node closes it (or rejects after `ms`). */
function connection(
  node: NodeProcess,
  send: (socket: net.Socket, received: () => number) => void,
  ms = 20_000,
) {
  return new Promise<void>((resolve, reject) => {
    const socket = net.connect(node.rtmpPort, node.host)
    let got = 0
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`the node kept the connection open ${ms} ms`))
    }, ms)
    socket.on('data', (d) => {
      got += d.length
    })
    socket.on('error', () => undefined)
    socket.on('close', () => {
      clearTimeout(timer)
      resolve()
    })
    socket.on('connect', () => send(socket, () => got))
  })
}

/** After the handshake, chunk headers (fmt 0) on csid 3, 4, … each declaring a 16 MiB command. */
function absurdChunks(count: number): Buffer {
  const chunks: Buffer[] = []
  for (let i = 0; i < count; i++) {
    const csid = 3 + (i % 60)
    // fmt 0, csid; timestamp 0; length 0xffffff; type 0x14 (AMF0 command); stream id 0
    chunks.push(Buffer.from([csid, 0, 0, 0, 0xff, 0xff, 0xff, 0x14, 0, 0, 0, 0]))
  }
  return Buffer.concat(chunks)
}

function handshakeThen(payload: Buffer) {
  return (socket: net.Socket, received: () => number) => {
    socket.write(C0C1)
    const check = setInterval(() => {
      if (received() < SERVER_HANDSHAKE) return
      clearInterval(check)
      socket.write(Buffer.concat([Buffer.alloc(1536), payload]))
    }, 5)
    socket.once('close', () => clearInterval(check))
  }
}

function videoGap(tags: readonly FlvTag[], since: number): number {
  const video = tags.filter((t) => t.type === 9 && t.at >= since)
  let gap = 0
  for (let i = 1; i < video.length; i++)
    gap = Math.max(gap, (video[i] as FlvTag).at - (video[i - 1] as FlvTag).at)
  return gap
}

async function metric(node: NodeProcess, kind: string): Promise<number> {
  const text = await (await fetch(`${node.httpUrl}/metrics`)).text()
  const m = new RegExp(`^meshcast_rtmp_bound_breaks_total\\{kind="${kind}"\\} (\\d+)`, 'm').exec(text)
  return Number(m?.[1] ?? 0)
}

describe('RTMP bounds: what a stranger sends cannot exhaust a node or stall its players', () => {
  test(
    'garbage, absurd chunk headers and idle connections are closed; memory stays bounded; the player plays on',
    withCluster(async (cluster, t) => {
      const node = await cluster.start({ name: 'origin', properties: { 'rtmp.setup_timeout': 2 } })
      const publisher = await publish(`${node.rtmpUrl}/live/guarded`, { seconds: 120 })
      t.after(() => publisher.stop())
      const player = await playWsFlv(`${node.httpUrl.replace(/^http/, 'ws')}/live/guarded.flv`)
      t.after(() => player.close())
      await waitFor(() => player.tags.filter((tag) => tag.type === 9).length >= 25, {
        timeout: 15_000,
        what: 'video at the player',
      })
      const since = Date.now()
      const before = rssMiB(node)
      let peak = before
      const sampler = setInterval(() => {
        peak = Math.max(peak, rssMiB(node))
      }, 50)
      t.after(() => clearInterval(sampler))

      // 200 connections of 64 KiB random bytes each
      await Promise.all(
        Array.from({ length: 200 }, () => connection(node, (s) => s.write(randomBytes(64 * 1024)))),
      )
      // 100 valid handshakes, each followed by 600 chunk headers declaring 16 MiB commands
      await Promise.all(Array.from({ length: 100 }, () => connection(node, handshakeThen(absurdChunks(600)))))
      // 300 connections that never send a byte, and 50 that stop halfway through the handshake
      await Promise.all([
        ...Array.from({ length: 300 }, () => connection(node, () => undefined)),
        ...Array.from({ length: 50 }, () => connection(node, (s) => s.write(C0C1.subarray(0, 700)))),
      ])
      const statusStarted = Date.now()
      const status = await fetch(`${node.httpUrl}/api/status`)
      const statusMs = Date.now() - statusStarted
      clearInterval(sampler)
      await waitFor(
        () => player.tags.filter((tag) => tag.type === 9 && tag.at > Date.now() - 500).length > 0,
        {
          timeout: 5000,
          what: 'the player to be receiving video still',
        },
      )
      const gap = videoGap(player.tags, since)
      process.stdout.write(
        `# RTMP attacks: RSS ${before.toFixed(0)} -> peak ${peak.toFixed(0)} MiB; /api/status ${statusMs} ms after; player's longest gap ${gap} ms\n`,
      )
      assert.equal(status.status, 200)
      // the bound is on what the attack costs: the idle RSS itself varies (126-163 MiB here with
      // the compile cache cold or warm); without the bounds the same attack takes GiBs
      assert.ok(
        peak - before < 200,
        `the node's RSS grew ${(peak - before).toFixed(0)} MiB, to ${peak.toFixed(0)}`,
      )
      assert.ok(gap < 1000, `the player saw a ${gap} ms gap`)
      assert.equal(player.closed, null, 'the player was never cut')
      assert.ok((await metric(node, 'message-length')) >= 100, 'every absurd header counted')
      assert.ok((await metric(node, 'setup-timeout')) >= 350, 'every idle connection counted')
      // a flood is a few lines, not one per connection
      const lines = node
        .records()
        .filter((r) => typeof r.message === 'string' && r.message.startsWith('RTMP connection'))
      assert.ok(lines.length > 0 && lines.length <= 8, `${lines.length} log lines about bound breaks`)
    }),
  )
})
