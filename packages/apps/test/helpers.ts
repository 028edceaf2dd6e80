import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import type { AppSpec, Logger, Member } from '@meshcast/interface'
import express from 'express'
import { AppHost, type AppHostInit, SoloCluster } from '../src/index.ts'

export const FIXTURES = join(import.meta.dirname, 'fixtures')

export interface LogRecord {
  level: string
  message: string
  fields: Record<string, unknown>
}

/** A Logger that keeps every record, child fields merged in. */
export function recordingLogger(records: LogRecord[], base: Record<string, unknown> = {}): Logger {
  const at =
    (level: string) =>
    (message: string, fields: Record<string, unknown> = {}) =>
      records.push({ level, message, fields: { ...base, ...fields } })
  return {
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    debug: at('debug'),
    child: (fields) => recordingLogger(records, { ...base, ...fields }),
  }
}

export function selfMember(id = '12D3KooWtestnode'): Member {
  return {
    id,
    role: 'standalone',
    publicIp: '127.0.0.1',
    publicPort: 1935,
    http: '127.0.0.1:5080',
    mesh: '',
    privateInstance: false,
    startedAt: Date.now(),
    load: { subscribers: 0, streams: 0 },
    data: {},
  }
}

/** The probe fixture under `name`, throwing where `throwIn` says (nowhere when absent). */
export function probe(name: string, throwIn?: string): AppSpec {
  return { name, path: join(FIXTURES, 'probe'), settings: throwIn === undefined ? {} : { throwIn } }
}

export interface Hosted {
  host: AppHost
  cluster: SoloCluster
  logs: LogRecord[]
  /** `http://127.0.0.1:<port>` */
  url: string
  get(path: string): Promise<{ status: number; text: string }>
}

/**
 * An AppHost on a SoloCluster behind a real HTTP server (upgrades routed to
 * the host), loaded and started; all of it stopped after the test.
 */
export async function hostApps(
  t: TestContext,
  apps: AppSpec[],
  init: Partial<AppHostInit> = {},
): Promise<Hosted> {
  const logs: LogRecord[] = []
  const cluster = new SoloCluster(selfMember())
  const host = new AppHost(
    { apps, role: 'standalone', clustered: false, ...init },
    { logger: recordingLogger(logs), cluster },
  )
  const app = express()
  app.use(host.router)
  const server = app.listen(0, '127.0.0.1')
  server.on('upgrade', (req, socket, head) => host.handleUpgrade(req, socket, head))
  await new Promise((resolve) => server.once('listening', resolve))
  t.after(async () => {
    await host.stop()
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })
  await host.start()
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    host,
    cluster,
    logs,
    url,
    async get(path) {
      const res = await fetch(`${url}${path}`)
      return { status: res.status, text: await res.text() }
    },
  }
}

/** How often `until` looks again: in-process conditions come true within a few ms. */
const UNTIL_POLL_MS = 5

/** Polls until `check` is true (these are in-process tests: a few ms at most). */
export async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeout = 5000,
): Promise<void> {
  const deadline = Date.now() + timeout
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, UNTIL_POLL_MS))
  }
}

/** A WebSocket client (Node's own) to `url`, open. */
export async function openSocket(url: string): Promise<WebSocket> {
  const ws = new WebSocket(url)
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener('open', () => resolve(), { once: true })
    ws.addEventListener('error', () => reject(new Error(`cannot open ${url}`)), { once: true })
  })
  return ws
}
