// A TCP relay that NetnsLan runs inside a host's network namespace, so the test
// process (in the root namespace) can open connections from that host.
//
//   node netns-agent.js <unix socket path>
//
// Each connection to the unix socket (a path, so reachable from every network
// namespace) starts with one line `<host> <port> <timeout ms>\n`; the agent
// connects to host:port from inside the namespace and answers `ok\n` followed by
// the relayed stream, or `err <code>\n` and closes. It prints `ready\n` once it
// listens and exits when its stdin closes (the test process is gone).
//
// Plain JavaScript on purpose: a .ts entry costs every agent ~18 MiB more RSS.
import { unlinkSync } from 'node:fs'
import net from 'node:net'

const path = process.argv[2]
if (path === undefined) {
  process.stderr.write('usage: netns-agent.js <socket path>\n')
  process.exit(2)
}
try {
  unlinkSync(path)
} catch {
  // not there yet
}

const MAX_HEADER = 1024

const server = net.createServer({ allowHalfOpen: true }, (client) => {
  let head = Buffer.alloc(0)
  client.on('error', () => client.destroy())
  const onData = (chunk) => {
    head = Buffer.concat([head, chunk])
    const newline = head.indexOf(10)
    if (newline < 0) {
      if (head.length > MAX_HEADER) client.destroy()
      return
    }
    client.off('data', onData)
    client.pause()
    const [host, port, timeout] = head.subarray(0, newline).toString('utf8').split(' ')
    const rest = head.subarray(newline + 1)
    let connected = false
    const upstream = net.connect({ host, port: Number(port), allowHalfOpen: true })
    const timer = setTimeout(() => {
      const err = new Error('connect timed out')
      err.code = 'ETIMEDOUT'
      upstream.destroy(err)
    }, Number(timeout))
    upstream.once('connect', () => {
      connected = true
      clearTimeout(timer)
      client.write('ok\n')
      if (rest.length > 0) upstream.write(rest)
      client.pipe(upstream)
      upstream.pipe(client)
    })
    upstream.on('error', (err) => {
      clearTimeout(timer)
      if (connected) client.destroy()
      else client.end(`err ${err.code ?? err.message.replaceAll('\n', ' ')}\n`)
    })
    client.once('close', () => upstream.destroy())
  }
  client.on('data', onData)
})

server.listen(path, () => process.stdout.write('ready\n'))
process.stdin.on('end', () => process.exit(0)).resume()
