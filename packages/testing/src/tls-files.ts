import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** A test CA and a server certificate it signed, as PEM files in a folder of their own. */
export interface TlsFiles {
  dir: string
  /** the CA's certificate: what a client verifying the server trusts */
  ca: string
  cert: string
  key: string
  /** Writes a new certificate (same names, new serial) over `cert` and `key`: a renewal. */
  renew(): void
  remove(): void
}

/**
 * Makes a CA and a server certificate for `ips` (IP subject alternative
 * names, what a client dialling an address checks) and `names` (DNS ones),
 * with the openssl command: P-256 keys, valid two days.
 */
export function makeTlsFiles(opts: { ips?: readonly string[]; names?: readonly string[] } = {}): TlsFiles {
  const dir = mkdtempSync(join(tmpdir(), 'meshcast-tls-'))
  const file = (name: string) => join(dir, name)
  const openssl = (...args: string[]) =>
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] })
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  openssl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    file('ca.key'),
    '-out',
    file('ca.crt'),
    '-days',
    '2',
    '-subj',
    '/CN=meshcast test CA',
  )
  const sans = [
    ...(opts.ips ?? ['127.0.0.1']).map((ip) => `IP:${ip}`),
    ...(opts.names ?? []).map((n) => `DNS:${n}`),
  ]
  writeFileSync(
    file('server.ext'),
    `subjectAltName=${sans.join(',')}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n`,
  )
  const sign = () => {
    openssl('req', ...ec, '-keyout', file('tls.key'), '-out', file('tls.csr'), '-subj', '/CN=meshcast node')
    openssl(
      'x509',
      '-req',
      '-in',
      file('tls.csr'),
      '-CA',
      file('ca.crt'),
      '-CAkey',
      file('ca.key'),
      '-CAcreateserial',
      '-out',
      file('tls.crt'),
      '-days',
      '2',
      '-extfile',
      file('server.ext'),
    )
  }
  sign()
  return {
    dir,
    ca: file('ca.crt'),
    cert: file('tls.crt'),
    key: file('tls.key'),
    renew: sign,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  }
}
