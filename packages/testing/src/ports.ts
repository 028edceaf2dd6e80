import net from 'node:net'

/** Whether something accepts TCP connections at host:port right now. */
export async function isListening(host: string, port: number, timeout = 1000): Promise<boolean> {
  return await new Promise((resolve) => {
    const socket = net.connect({ host, port })
    const done = (up: boolean) => {
      socket.destroy()
      resolve(up)
    }
    socket.setTimeout(timeout, () => done(false))
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
  })
}

/** Which of `ports` on `host` accept connections. */
export async function listeningPorts(host: string, ports: number[]): Promise<number[]> {
  const up = await Promise.all(ports.map((p) => isListening(host, p)))
  return ports.filter((_, i) => up[i])
}
