import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  type Chromium,
  type NodeProcess,
  publish,
  type SkippableContext,
  type TestCluster,
  waitFor,
  withChromium,
  withCluster,
} from '@meshcast/testing'

/** The fields of a `<video>` the test reads (no DOM types in a Node project). */
interface VideoLike {
  currentTime: number
  videoWidth: number
}

function browserTest(
  body: (cluster: TestCluster, browser: Chromium, t: SkippableContext) => Promise<void>,
): (t: SkippableContext) => Promise<void> {
  return withChromium((browser, t) => withCluster((cluster: TestCluster) => body(cluster, browser, t))(t))
}

/** An origin and two edges that list it, each a real `meshcast start` process. */
async function threeNodes(cluster: TestCluster): Promise<[NodeProcess, NodeProcess, NodeProcess]> {
  const origin = await cluster.start()
  const edges = await Promise.all([
    cluster.start({ cluster: { origins: [cluster.address(0)] } }),
    cluster.start({ cluster: { origins: [cluster.address(0)] } }),
  ])
  return [origin, edges[0], edges[1]]
}

describe('the dashboard', () => {
  test(
    'lists the members and a published stream live, and its player shows moving video from an edge',
    browserTest(async (cluster, browser) => {
      const [origin, edge] = await threeNodes(cluster)
      const page = await browser.newPage()
      await page.goto(`${edge.httpUrl}/`)
      const members = page.locator('#members tbody tr')
      await waitFor(async () => (await members.count()) === 3, {
        timeout: 15_000,
        what: 'three members listed',
      })
      const roles = await page.locator('#members tbody tr td:nth-child(2)').allTextContents()
      assert.deepEqual(roles.sort(), ['edge', 'edge', 'origin'])
      assert.equal(await page.locator('#members .tag.coord').count(), 1, 'one coordinator')
      assert.match((await page.locator('#link').textContent()) ?? '', /live/)

      // published after the page opened: it must appear without a reload
      const publisher = await publish(`${origin.rtmpUrl}/live/dash`, { seconds: 120 })
      try {
        const streams = page.locator('#streams tbody')
        await waitFor(async () => /\/live\/dash/.test((await streams.textContent()) ?? ''), {
          timeout: 15_000,
          what: 'the stream listed',
        })
        await waitFor(async () => (await page.locator('#streams tbody tr').count()) === 3, {
          timeout: 15_000,
          what: 'the origin and both edges listed as carriers',
        })
        const rows = await page.locator('#streams tbody tr').allTextContents()
        assert.match(rows.join('\n'), /published/)
        assert.match(rows.join('\n'), /edge pull/)
        await waitFor(
          async () =>
            /pulls \/live\/dash from origin/.test((await page.locator('#events').textContent()) ?? ''),
          {
            timeout: 10_000,
            what: 'the pulls in the event log',
          },
        )
        await waitFor(
          async () =>
            Number(await page.locator('#streams tbody tr').first().locator('td').nth(5).textContent()) > 0,
          { timeout: 15_000, what: 'a bitrate shown for the origin' },
        )

        await page.locator('#streams button', { hasText: 'Play here' }).first().click()
        const video = page.locator('#video')
        await waitFor(
          async () => (await video.evaluate((v) => (v as unknown as VideoLike).currentTime)) > 1,
          {
            timeout: 20_000,
            what: 'the player to play for a second',
          },
        )
        assert.equal(await video.evaluate((v) => (v as unknown as VideoLike).videoWidth), 640)
        const first = await video.screenshot()
        await waitFor(async () => !(await video.screenshot()).equals(first), {
          timeout: 5000,
          what: 'a different picture a moment later (moving video)',
        })
        // the page plays from the edge it is on: the edge counts a player
        await waitFor(
          async () => {
            const body = (await (await edge.httpGet('/api/streams')).json()) as {
              streams: { path: string; carriers: { source: string; subscribers: number }[] }[]
            }
            const s = body.streams.find((x) => x.path === '/live/dash')
            return s?.carriers.some((c) => c.source === 'edge' && c.subscribers > 0) === true
          },
          { timeout: 10_000, what: 'the edge to count the page as a player' },
        )
      } finally {
        await publisher.stop()
      }
    }),
  )

  test(
    'shows a member leaving, and a standalone node shows itself',
    browserTest(async (cluster, browser) => {
      const [, edge, other] = await threeNodes(cluster)
      const page = await browser.newPage()
      await page.goto(`${edge.httpUrl}/`)
      const members = page.locator('#members tbody tr')
      await waitFor(async () => (await members.count()) === 3, { timeout: 15_000, what: 'three members' })
      await other.stop()
      await waitFor(async () => (await members.count()) === 2, { timeout: 10_000, what: 'the member gone' })
      assert.match((await page.locator('#events').textContent()) ?? '', /edge \w+ left/)

      const solo = await cluster.start({ cluster: { nodeType: 'off' } })
      const soloPage = await browser.newPage()
      await soloPage.goto(`${solo.httpUrl}/`)
      await waitFor(async () => (await soloPage.locator('#members tbody tr').count()) === 1, {
        timeout: 10_000,
        what: 'the standalone node listed',
      })
      assert.match((await soloPage.locator('#view').textContent()) ?? '', /standalone/)
    }),
  )

  test(
    'a node left at the default password warns at start and on its page; one with its own password does not',
    browserTest(async (cluster, browser) => {
      // mDNS is off on loopback, so this node announces itself nowhere: the warning is about the setting
      const node = await cluster.start({ cluster: { password: 'changeme' } })
      assert.ok(
        node.records().some((r) => /the cluster password is the default "changeme"/.test(String(r.message))),
        'the warning at start',
      )
      const page = await browser.newPage()
      await page.goto(`${node.httpUrl}/`)
      const warnings = page.locator('#warnings')
      await waitFor(async () => /default "changeme"/.test((await warnings.textContent()) ?? ''), {
        timeout: 10_000,
        what: 'the warning on the page',
      })
      assert.equal(await warnings.isVisible(), true)
      // the cluster's own password (a node of another cluster: it cannot join the first)
      const other = await cluster.start()
      const clean = await browser.newPage()
      await clean.goto(`${other.httpUrl}/`)
      await waitFor(async () => (await clean.locator('#members tbody tr').count()) === 1, { timeout: 10_000 })
      assert.equal(await clean.locator('#warnings').isVisible(), false)
    }),
  )
})
