import net from 'node:net'
import { formatAddress, type HostPort, ListenError } from '@meshcast/interface'
import { listen } from '../listen.ts'

/**
 * Listens for RTMP clients. meshcast owns the socket rather than
 * node-media-server so that a bind failure is an error we can report (NMS
 * calls process.exit) and so TCP_NODELAY is set: without it the RTMP
 * handshake stalls on Nagle's algorithm for ~40 ms per round trip.
 */
export async function listenTcp(
  listener: string,
  address: HostPort,
  onSocket: (socket: net.Socket) => void,
): Promise<net.Server> {
  const server = net.createServer({ noDelay: true }, (socket) => {
    socket.setNoDelay(true)
    onSocket(socket)
  })
  await new Promise<void>((resolve, reject) => {
    const unlisten = listen(server, {
      error: (err: NodeJS.ErrnoException) => {
        unlisten()
        reject(new ListenError(listener, formatAddress(address), err))
      },
    })
    server.listen(address.port, address.host, () => {
      unlisten()
      resolve()
    })
  })
  return server
}

export async function closeServer(server: net.Server): Promise<void> {
  await new Promise<void>((resolve) => server.close(() => resolve()))
}
