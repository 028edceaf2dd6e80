// Benchmark: what stream authentication adds to a publish's and a play's setup. One origin per
// mode (auth off; the file validator with a plain password; with a scrypt hash, first check and
// remembered; the roundtrip validator against a local endpoint), each with a publisher, then
// RUNS raw RTMP sessions timed from the TCP connect to NetStream.Publish.Start (on a fresh
// name) and to NetStream.Play.Start, and RUNS HTTP-FLV requests timed to their status line.
// Usage: npx -y pnpm@10 bench:auth [runs]; writes bench/results/auth.json.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { hashPassword } from '@meshcast/auth'
import { type NodeProcess, publish, RtmpClient, TestCluster, waitFor } from '@meshcast/testing'
import { progress, progressDone, quantile, round } from './lib.ts'

const RUNS = Number(process.argv[2] ?? 30)
const dir = mkdtempSync(join(tmpdir(), 'meshcast-bench-auth-'))
const plainFile = join(dir, 'plain.credentials')
const hashedFile = join(dir, 'hashed.credentials')
// `first` is checked once: a hash's first check (scrypt) against the remembered ones after
writeFileSync(plainFile, 'bench=bench-pw\nfirst=bench-pw\n')
writeFileSync(
  hashedFile,
  `bench=${await hashPassword('bench-pw')}\nfirst=${await hashPassword('bench-pw')}\n`,
)
const endpoint = createServer((req, res) => {
  req.resume()
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"result":true}'))
})
await new Promise<void>((r) => endpoint.listen(0, '127.0.0.1', r))
const roundtrip = `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}/`

const auth = (more: Record<string, string>) => ({ 'auth.publish': 'true', 'auth.play': 'true', ...more })
const MODES: { name: string; properties: Record<string, string> }[] = [
  { name: 'auth off', properties: {} },
  { name: 'file, plain password', properties: auth({ 'auth.credentials': plainFile }) },
  { name: 'file, scrypt hash (remembered)', properties: auth({ 'auth.credentials': hashedFile }) },
  {
    name: 'roundtrip (local endpoint)',
    properties: auth({ 'auth.validator': 'roundtrip', 'auth.roundtrip.url': roundtrip }),
  },
]
const QUERY = 'username=bench&password=bench-pw'

/** ms from connect to the answer of a publish or play of `name`. */
async function rtmpSetup(node: NodeProcess, action: 'publish' | 'play', name: string): Promise<number> {
  const c = new RtmpClient()
  c.onErrorCallback = () => undefined
  const t0 = performance.now()
  try {
    await c.connect(`${node.rtmpUrl}/live/x`)
    await c.sendConnect()
    await c.sendCreateStream()
    await (action === 'publish' ? c.sendPublish(name) : c.sendPlay(name))
    return performance.now() - t0
  } finally {
    c.disconnect()
  }
}

async function flvSetup(node: NodeProcess, query: string): Promise<number> {
  const abort = new AbortController()
  const t0 = performance.now()
  const res = await fetch(`${node.httpUrl}/live/bench.flv${query}`, { signal: abort.signal })
  const ms = performance.now() - t0
  if (res.status !== 200) throw new Error(`HTTP-FLV answered ${res.status}`)
  abort.abort()
  return ms
}

const stats = (v: number[]) => ({ p50: round(quantile(v, 0.5)), p90: round(quantile(v, 0.9)) })
const rows: Record<string, unknown>[] = []
try {
  for (const mode of MODES) {
    const cluster = new TestCluster()
    try {
      const node = await cluster.start({ name: 'origin', properties: mode.properties })
      const q = mode.name === 'auth off' ? '' : `?${QUERY}`
      const publisher = await publish(`${node.rtmpUrl}/live/bench${q}`, { seconds: 600 })
      await waitFor(async () => (await (await node.httpGet('/api/streams')).text()).includes('/live/bench'), {
        timeout: 20_000,
        what: 'the stream',
      })
      const pub: number[] = []
      const ply: number[] = []
      const flv: number[] = []
      let first: number | null = null
      for (let i = 0; i < RUNS; i++) {
        progress(`${mode.name}: ${i + 1}/${RUNS}`)
        if (i === 0) first = await rtmpSetup(node, 'publish', `first${q.replace('bench', 'first')}`)
        pub.push(await rtmpSetup(node, 'publish', `fresh${i}${q}`))
        ply.push(await rtmpSetup(node, 'play', `bench${q}`))
        flv.push(await flvSetup(node, q))
      }
      await publisher.stop()
      rows.push({
        mode: mode.name,
        'publish setup p50 (ms)': stats(pub).p50,
        'publish p90': stats(pub).p90,
        'first check of a user (ms)': round(first),
        'RTMP play setup p50 (ms)': stats(ply).p50,
        'play p90': stats(ply).p90,
        'HTTP-FLV status line p50 (ms)': stats(flv).p50,
        'HTTP-FLV p90': stats(flv).p90,
      })
    } finally {
      await cluster.stopAll()
    }
  }
} finally {
  endpoint.close()
  rmSync(dir, { recursive: true, force: true })
}
progressDone()
console.table(rows)
const out = join(import.meta.dirname, 'results', 'auth.json')
writeFileSync(out, `${JSON.stringify({ date: new Date().toISOString(), runs: RUNS, rows }, null, 2)}\n`)
console.log(`written ${out}`)
