import { connect } from 'node:net'

/** ms a probe waits for the TCP handshake: a mesh port that drops packets counts as none. */
export const MESH_PROBE_TIMEOUT_MS = 2000

/**
 * Whether anything accepts TCP at `host:port`: how an edge tells an
 * `origins` entry with a meshcast node behind it (of this cluster or, with
 * another password, of another one) from a plain RTMP server, which has
 * no mesh port. Refused, unreachable or silent: false. Never throws.
 */
export function meshListens(host: string, port: number, timeoutMs = MESH_PROBE_TIMEOUT_MS): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port })
    const done = (listening: boolean) => {
      socket.destroy()
      resolve(listening)
    }
    socket.setTimeout(timeoutMs, () => done(false))
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
  })
}
