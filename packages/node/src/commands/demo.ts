import type { ChildProcess } from 'node:child_process'
import type { Logger } from '@meshcast/interface'
import { Command } from 'commander'
import type { Daemon } from '../daemon.ts'
import { startTestPublisher } from '../ffmpeg.ts'
import { createLogger } from '../logging.ts'
import { runUntilSignal } from '../run-until-signal.ts'
import { addConfOptions, addLogOptions, type ConfOptions, type LogOptions } from './options.ts'
import { startNode } from './start-node.ts'

/** The demo binds loopback only: it is for looking at, not for serving a network. */
export const DEMO_HOST = '127.0.0.1'
export const DEMO_STREAM = 'live/demo'

type DemoOptions = ConfOptions & LogOptions & { publish: boolean }

/**
 * `meshcast demo`: a node on loopback with a live test pattern, and the
 * URLs to publish to and watch from. (Today a single node; the origin + edges
 * cluster arrives with the mesh.)
 */
export function demoCommand(setExit: (code: number) => void): Command {
  const cmd = new Command('demo')
    .description('run a local demo on 127.0.0.1 with a live test-pattern stream; Ctrl-C stops it')
    .option('--no-publish', 'do not start the built-in ffmpeg test publisher')
  addConfOptions(cmd)
  addLogOptions(cmd)
  return cmd.action(async (opts: DemoOptions) => {
    const logger = createLogger({ level: opts.logLevel, format: opts.logFormat })
    progress('meshcast demo: starting a node on', opts.host ?? DEMO_HOST)
    // Loopback only: mDNS would announce the demo on the real LAN (its packets leave by the default interface).
    const daemon = await startNode({ ...opts, host: opts.host ?? DEMO_HOST, mdns: false }, logger)
    if (daemon === null) {
      setExit(1)
      return
    }
    const rtmp = rtmpBase(daemon)
    let publisher: ChildProcess | null = null
    if (opts.publish) {
      progress('meshcast demo: starting the test publisher (ffmpeg)')
      publisher = await startPublisher(`${rtmp}/${DEMO_STREAM}`, logger)
    }
    printBanner(daemon, publisher !== null)
    const service = {
      start: async () => {},
      stop: async () => {
        if (publisher !== null) await stopChild(publisher)
        await daemon.stop()
      },
    }
    setExit(await runUntilSignal(service, logger))
  })
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  await exited
}

function progress(...words: string[]): void {
  console.log(`… ${words.join(' ')}`)
}

function rtmpBase(daemon: Daemon): string {
  const { host, port } = daemon.config.rtmp
  return `rtmp://${host.includes(':') ? `[${host}]` : host}:${port}`
}

async function startPublisher(url: string, logger: Logger): Promise<ChildProcess | null> {
  try {
    return await startTestPublisher(url, logger.child({ component: 'test-publisher' }))
  } catch (err) {
    logger.warn('no test publisher', { reason: err instanceof Error ? err.message : String(err) })
    return null
  }
}

function printBanner(daemon: Daemon, publishing: boolean): void {
  const rtmp = rtmpBase(daemon)
  const { host, port } = daemon.config.http
  const web = `http://${host.includes(':') ? `[${host}]` : host}:${port}`
  const lines = [
    '',
    `meshcast demo is running: one ${daemon.config.role} node (id ${daemon.id})`,
    publishing
      ? `  live now:  ${rtmp}/${DEMO_STREAM}  (test pattern + 440 Hz tone)`
      : '  live now:  nothing yet',
    `  watch:     ffplay ${rtmp}/${DEMO_STREAM}   (or VLC: Media > Open Network Stream)`,
    `  publish:   ffmpeg -re -i input.mp4 -c:v libx264 -c:a aac -f flv ${rtmp}/live/<name>`,
    `  status:    ${web}/api/status`,
    ...daemon.apps
      .list()
      .filter((app) => app.state === 'running')
      .map((app) => `  app:       ${web}/${app.name}/`),
    'Ctrl-C stops the node and the publisher.',
    '',
  ]
  console.log(lines.join('\n'))
}
