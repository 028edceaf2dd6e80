import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { ConfigError, type Logger } from '@meshcast/interface'
import { TlsCertificate } from '../src/tls-certificate.ts'

const dir = mkdtempSync(join(tmpdir(), 'meshcast-tls-cert-'))
after(() => rmSync(dir, { recursive: true, force: true }))
const files = { cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key') }

/** A new self-signed P-256 pair in `files` (openssl, as an operator's renewal would write it). */
function renew(): void {
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      files.key,
      '-out',
      files.cert,
      '-days',
      '1',
      '-subj',
      '/CN=meshcast test',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  )
}

/** A logger that keeps each line's message and `why`. */
function recording(): Logger & { lines: { message: string; why: unknown }[] } {
  const lines: { message: string; why: unknown }[] = []
  const log = (message: string, fields?: { why?: unknown }) => lines.push({ message, why: fields?.why })
  const logger = { lines, error: log, warn: log, info: log, debug: log, child: () => logger }
  return logger as unknown as Logger & { lines: { message: string; why: unknown }[] }
}

/** The next pair `cert` changes to. */
function changed(cert: TlsCertificate): Promise<Buffer> {
  return new Promise((resolve) => {
    const off = cert.onChange((pem) => {
      off()
      resolve(pem.cert)
    })
  })
}

describe('the TLS certificate', () => {
  test('SIGHUP alone reloads it (the file watcher looks only once an hour here)', async () => {
    renew()
    const log = recording()
    const cert = new TlsCertificate(files, log, { watchMs: 3_600_000 })
    cert.start()
    try {
      const before = cert.pem.cert
      renew()
      const next = changed(cert)
      process.kill(process.pid, 'SIGHUP')
      const now = await next
      assert.ok(!now.equals(before))
      assert.deepEqual(log.lines.at(-1), { message: 'TLS certificate reloaded', why: 'SIGHUP' })
    } finally {
      cert.stop()
    }
  })

  test('a change of the files alone reloads it', async () => {
    renew()
    const log = recording()
    const cert = new TlsCertificate(files, log, { watchMs: 20 })
    cert.start()
    try {
      const next = changed(cert)
      renew()
      await next
      assert.ok(
        log.lines.some((l) => l.message === 'TLS certificate reloaded' && l.why === 'the file changed'),
      )
    } finally {
      cert.stop()
    }
  })

  test('a pair that does not load on SIGHUP is logged and the old one stays', async () => {
    renew()
    const log = recording()
    const cert = new TlsCertificate(files, log, { watchMs: 3_600_000 })
    cert.start()
    try {
      const { context, pem } = cert
      writeFileSync(files.key, '-----BEGIN PRIVATE KEY-----\nhalf written\n')
      const refused = new Promise<void>((resolve) => {
        const wait = () =>
          log.lines.some((l) => l.message.startsWith('TLS certificate not reloaded'))
            ? resolve()
            : setImmediate(wait)
        wait()
      })
      process.kill(process.pid, 'SIGHUP')
      await refused
      assert.equal(cert.context, context)
      assert.equal(cert.pem, pem)
    } finally {
      cert.stop()
    }
  })

  test('a pair that cannot be used at start is a ConfigError naming the file', () => {
    writeFileSync(files.cert, 'not a certificate')
    assert.throws(
      () => new TlsCertificate(files, recording()),
      (err: unknown) => err instanceof ConfigError && err.problems[0]?.file === files.cert,
    )
  })
})
