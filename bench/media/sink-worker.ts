// A process of RTMP sinks: players that connect, play and then only count
// and acknowledge what they get (no chunk parsing), so that hundreds of them
// cost this benchmark far less than they cost the server. The benchmark's
// probes (probe.ts) time frames; these only make the load.
//   node bench/media/sink-worker.ts <rtmp url> <count> <local address>
// On stdin: a line `report` is answered on stdout with one JSON line
// ({ playing, closed, bytes: each sink's bytes so far, in start order });
// `stop` (or stdin closing) ends it.
import { createInterface } from 'node:readline'
import { RtmpClient } from '../../packages/media/src/nms/nms.ts'

const [url = '', countText = '0', from = ''] = process.argv.slice(2)
const COUNT = Number(countText)
/** players setting up at once (meshcast's rtmp.max_pending_per_ip is 64) */
const BATCH = 32

// every sink connects from this process's own address (meshcast caps connections per address)
const parseUrl = RtmpClient.parseUrl
RtmpClient.parseUrl = (u: string) => ({ ...parseUrl(u), ...(from === '' ? {} : { localAddress: from }) })

class Sink extends RtmpClient {
  playing = false
  closed = false
  bytes = 0

  constructor() {
    super()
    this.onStatusCallback = (code: string) => {
      if (code !== 'NetStream.Play.Start' || this.playing) return
      this.playing = true
      // from here on: count and acknowledge, parse nothing
      this.handleData = (data: Buffer) => {
        this.bytes += data.length
        this.receivedBytes += data.length
        if (this.ackSize > 0 && this.receivedBytes - this.lastAckBytes >= this.ackSize) {
          this.lastAckBytes = this.receivedBytes
          this.sendACK(this.receivedBytes >>> 0)
        }
      }
    }
    this.onCloseCallback = () => {
      this.closed = true
    }
    this.onErrorCallback = () => undefined
  }

  start(): Promise<void> {
    return this.connect(url)
      .then(() => this.sendConnect())
      .then(() => this.sendCreateStream())
      .then(() => {
        this.socket?.setNoDelay(true)
        void this.sendPlay(this.urlInfo?.streamName ?? '').catch(() => undefined)
      })
      .catch(() => {
        this.closed = true
      })
  }

  override write(buffer: Buffer): void {
    const socket = this.socket
    if (socket === null || socket.destroyed || !socket.writable) return
    socket.write(buffer)
  }
}

const sinks: Sink[] = []
const started = (async () => {
  for (let i = 0; i < COUNT; i += BATCH) {
    const batch = Array.from({ length: Math.min(BATCH, COUNT - i) }, () => new Sink())
    sinks.push(...batch)
    await Promise.all(batch.map((s) => s.start()))
    // the next batch once this one plays (or gave up)
    const deadline = Date.now() + 10_000
    while (Date.now() < deadline && batch.some((s) => !s.playing && !s.closed))
      await new Promise((r) => setTimeout(r, 20))
  }
})()

const end = () => {
  for (const s of sinks) s.socket?.destroy()
  process.exit(0)
}
createInterface({ input: process.stdin }).on('line', async (line) => {
  if (line === 'stop') end()
  if (line !== 'report') return
  await started
  const report = {
    playing: sinks.filter((s) => s.playing && !s.closed).length,
    closed: sinks.filter((s) => s.closed).length,
    bytes: sinks.map((s) => s.bytes),
  }
  process.stdout.write(`${JSON.stringify(report)}\n`)
})
process.stdin.on('close', end)
