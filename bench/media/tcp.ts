// Whom a server process is connected to, from /proc: how the benchmark tells
// which origin an nginx or node-media-server edge pulls from, and when a cold
// edge has let its pull go (neither says so any other way).
import { readdirSync, readFileSync, readlinkSync } from 'node:fs'

/** Established IPv4 TCP connections of process `pid`, as the remote "ip:port". */
export function tcpRemotes(pid: number): string[] {
  const inodes = new Set<string>()
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))
        if (m?.[1] !== undefined) inodes.add(m[1])
      } catch {
        // closed meanwhile
      }
    }
  } catch {
    return [] // gone
  }
  const out: string[] = []
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/)
    if (f.length < 10 || f[3] !== '01' || !inodes.has(f[9] ?? '')) continue
    const [hexIp = '', hexPort = ''] = (f[2] ?? '').split(':')
    const ip = [3, 2, 1, 0].map((i) => Number.parseInt(hexIp.slice(i * 2, i * 2 + 2), 16)).join('.')
    out.push(`${ip}:${Number.parseInt(hexPort, 16)}`)
  }
  return out
}
