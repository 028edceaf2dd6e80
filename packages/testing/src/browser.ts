import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type BrowserContext, chromium, type Page } from 'playwright-core'
import { inCi, type SkippableContext, skipOrFail } from './cluster.ts'

export type { Page } from 'playwright-core'

import { guarded } from './fixture.ts'

/** Debian's Chromium; `MESHCAST_CHROMIUM` names another binary. */
export const CHROMIUM_PATH = process.env.MESHCAST_CHROMIUM ?? '/usr/bin/chromium'

/** Headless, no sandbox (containers), and nothing that talks to Google or updates itself mid-test. */
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

/** How many console lines of the pages a failure report shows. */
const REPORT_LINES = 200

/** Why Chromium cannot be launched here, or null when it can. */
export function chromiumMissing(path = CHROMIUM_PATH): string | null {
  try {
    accessSync(path, constants.X_OK)
    return null
  } catch {
    return `no Chromium at ${path} (apt-get install chromium, or set MESHCAST_CHROMIUM)`
  }
}

/** Skips the test with `reason`, or fails it in CI, where a skipped browser test would hide a broken runner. */
export function skipOrFailWithoutChromium(reason: string, t: SkippableContext, ci = inCi()): void {
  skipOrFail('Chromium', reason, t, ci)
}

/**
 * A real headless Chromium (through playwright-core) with a fresh profile
 * folder. It keeps what its pages print to the console and every page error,
 * for the report of a failed test.
 */
export class Chromium {
  readonly context: BrowserContext
  readonly #profile: string
  readonly #console: string[] = []
  #pages = 0
  #closed: Promise<void> | null = null

  private constructor(context: BrowserContext, profile: string) {
    this.context = context
    this.#profile = profile
  }

  /** `args`: flags besides CHROMIUM_ARGS (`--ignore-certificate-errors-spki-list=…` to trust a test certificate). */
  static async launch(path = CHROMIUM_PATH, args: readonly string[] = []): Promise<Chromium> {
    const profile = mkdtempSync(join(tmpdir(), 'meshcast-chromium-'))
    try {
      const context = await chromium.launchPersistentContext(profile, {
        executablePath: path,
        headless: true,
        args: [...CHROMIUM_ARGS, ...args],
      })
      return new Chromium(context, profile)
    } catch (err) {
      rmSync(profile, { recursive: true, force: true })
      throw err
    }
  }

  /** A new tab; its console and errors go to the report as `page N:`. */
  async newPage(): Promise<Page> {
    const page = await this.context.newPage()
    const label = `page ${++this.#pages}`
    page.on('console', (m) => this.#note(`${label}: console.${m.type()}: ${m.text()}`))
    page.on('pageerror', (err) => this.#note(`${label}: page error: ${err.message}`))
    return page
  }

  report(): string {
    return `----- chromium (${this.#pages} pages) -----\n${this.#console.slice(-REPORT_LINES).join('\n')}`
  }

  /** Closes the browser and removes its profile; safe to call twice. */
  async close(): Promise<void> {
    this.#closed ??= this.context
      .close()
      .catch(() => {}) // already gone (crashed, or killed by the abort path)
      .finally(() => rmSync(this.#profile, { recursive: true, force: true }))
    await this.#closed
  }

  #note(line: string): void {
    this.#console.push(line)
  }
}

/**
 * Wraps a test body: gives it a fresh Chromium, prints its pages' console
 * when the body fails or the test is cancelled, and always closes it.
 * Without Chromium the test is skipped, or fails when `CI` is set.
 */
export function withChromium<T extends SkippableContext>(
  body: (browser: Chromium, t: T) => Promise<void>,
  opts: { args?: readonly string[] } = {},
): (t: T) => Promise<void> {
  return async (t: T) => {
    const reason = chromiumMissing()
    if (reason !== null) {
      skipOrFailWithoutChromium(reason, t)
      return
    }
    const browser = await Chromium.launch(CHROMIUM_PATH, opts.args)
    await guarded(t, { report: () => browser.report(), teardown: () => browser.close() }, () =>
      body(browser, t),
    )
  }
}
