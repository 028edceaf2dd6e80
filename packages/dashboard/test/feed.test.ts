import assert from 'node:assert/strict'
import type { AddressInfo } from 'node:net'
import { test } from 'node:test'
import type { Logger } from '@meshcast/interface'
import express from 'express'
import {
  DashboardFeed,
  type DashboardSnapshot,
  type DashboardSource,
  dashboardRouter,
  type FeedUpdate,
} from '../src/index.ts'
import { member, snapshot, stream } from './helpers.ts'

const quiet: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return quiet
  },
}

/** A source whose picture the test changes, with the change hook the daemon gives. */
function source(first: DashboardSnapshot) {
  let current = first
  const listeners = new Set<() => void>()
  const src: DashboardSource = {
    snapshot: () => ({ ...current, at: Date.now() }),
    onChange(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
  }
  return {
    src,
    set(next: DashboardSnapshot) {
      current = next
      for (const l of listeners) l()
    },
  }
}

const O1 = member('origin1', 'origin', { coordinator: true, self: true })
const E1 = member('edge1', 'edge')

test('a change reported by the source reaches subscribers soon, as events, and stays in the log', async () => {
  const s = source(snapshot(0, [O1]))
  const feed = new DashboardFeed(s.src, quiet, { tickMs: 60_000 })
  feed.start()
  try {
    const got = new Promise<FeedUpdate>((resolve) => feed.subscribe(resolve))
    s.set(snapshot(0, [O1, E1]))
    const update = await got
    assert.deepEqual(
      update.events.map((e) => e.text),
      ['edge edge1 joined (http edge1:5080)'],
    )
    const later = feed.current()
    assert.equal(later.full, true)
    assert.equal(later.events.length, 1)
    assert.equal(later.snapshot.members.length, 2)
  } finally {
    feed.stop()
  }
})

test('a listener that throws does not stop the others', async () => {
  const s = source(snapshot(0, [O1]))
  const feed = new DashboardFeed(s.src, quiet, { tickMs: 60_000 })
  feed.start()
  try {
    feed.subscribe(() => {
      throw new Error('boom')
    })
    const got = new Promise<FeedUpdate>((resolve) => feed.subscribe(resolve))
    s.set(snapshot(0, [O1], [stream('origin1')]))
    assert.equal((await got).events[0]?.text, '/live/a published on origin origin1')
  } finally {
    feed.stop()
  }
})

test('the router serves the page with a strict CSP, mpegts.js, JSON and a server-sent event stream', async (t) => {
  const s = source(snapshot(0, [O1]))
  const feed = new DashboardFeed(s.src, quiet, { tickMs: 60_000 })
  feed.start()
  const app = express()
  app.use(dashboardRouter(feed, quiet, { maxPages: 1 }))
  const server = app.listen(0, '127.0.0.1')
  await new Promise((r) => server.once('listening', r))
  t.after(() => {
    feed.stop()
    server.closeAllConnections()
    server.close()
  })
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const page = await fetch(`${base}/`)
  assert.equal(page.status, 200)
  assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'/)
  assert.match(await page.text(), /<title>meshcast dashboard<\/title>/)
  const mpegts = await fetch(`${base}/dashboard/mpegts.js`)
  assert.equal(mpegts.status, 200)
  assert.ok((await mpegts.text()).length > 100_000, 'the real mpegts.js build')
  assert.equal((await fetch(`${base}/dashboard/dashboard.js`)).status, 200)
  assert.equal((await fetch(`${base}/dashboard/nope.js`)).status, 404)
  const json = (await (await fetch(`${base}/api/dashboard`)).json()) as FeedUpdate
  assert.equal(json.snapshot.members[0]?.id, 'origin1')

  const controller = new AbortController()
  const events = await fetch(`${base}/api/dashboard/events`, { signal: controller.signal })
  assert.equal(events.headers.get('content-type'), 'text/event-stream; charset=utf-8')
  const reader = (events.body as ReadableStream<Uint8Array>).getReader()
  const decoder = new TextDecoder()
  let text = ''
  const next = async (pattern: RegExp) => {
    while (!pattern.test(text)) {
      const { value, done } = await reader.read()
      if (done) throw new Error(`stream ended before ${pattern}`)
      text += decoder.decode(value)
    }
  }
  await next(/event: update\ndata: .*"full":true/)
  assert.equal((await fetch(`${base}/api/dashboard/events`)).status, 503, 'a page over the limit is refused')
  s.set(snapshot(0, [O1, E1]))
  await next(/edge edge1 joined/)
  controller.abort()
})
