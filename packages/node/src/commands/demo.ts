import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Command } from 'commander'
import { DemoCluster } from '../demo/demo-cluster.ts'
import { DemoNodeError } from '../demo/node-child.ts'
import {
  DEFAULT_DEMO_ADDRESS,
  DEFAULT_DEMO_EDGES,
  DEFAULT_DEMO_ORIGINS,
  DEMO_STREAM,
  type DemoNode,
  DemoPlanError,
  planDemo,
  rtmpOf,
  webOf,
} from '../demo/plan.ts'
import { createLogger } from '../logging.ts'
import { runUntilSignal } from '../run-until-signal.ts'
import { addLogOptions, type LogOptions } from './options.ts'

/** The clustered chat shipped with the project, hosted by every demo node when it is there. */
const CHAT_APP = fileURLToPath(new URL('../../../../examples/chat', import.meta.url))

type DemoOptions = LogOptions & {
  origins: string
  edges: string
  address: string
  publish: boolean
  redundant?: boolean
}

/**
 * `meshcast demo`: a cluster on loopback — origins and edges, one process
 * each — with a live test pattern published to the first origin, and the
 * URLs of the dashboard, the player, the chat and the streams.
 */
export function demoCommand(setExit: (code: number) => void): Command {
  const cmd = new Command('demo')
    .description(
      'run a local cluster on loopback (2 origins + 2 edges by default) with a live test-pattern stream; Ctrl-C stops it',
    )
    .option('--origins <n>', 'how many origins', String(DEFAULT_DEMO_ORIGINS))
    .option('--edges <n>', 'how many edges (each pulls from the origins)', String(DEFAULT_DEMO_EDGES))
    .option(
      '--address <ip>',
      'loopback address of the first node; each next node takes the next address, all on the default ports',
      DEFAULT_DEMO_ADDRESS,
    )
    .option('--no-publish', 'do not start the built-in ffmpeg test publisher')
    .option('--redundant', 'publish the test pattern to every origin, so edges can fail over when one dies')
  addLogOptions(cmd)
  return cmd.action(async (opts: DemoOptions) => {
    const logger = createLogger({ level: opts.logLevel, format: opts.logFormat, to: opts.logTo })
    const hasChat = existsSync(CHAT_APP)
    let nodes: DemoNode[]
    try {
      nodes = planDemo({
        origins: Number(opts.origins),
        edges: Number(opts.edges),
        address: opts.address,
        // the password is the cluster: a fresh one, so the demo joins nothing else
        password: `demo-${randomBytes(6).toString('hex')}`,
        chat: hasChat ? CHAT_APP : null,
      })
    } catch (err) {
      if (!(err instanceof DemoPlanError)) throw err
      logger.error(err.message)
      setExit(1)
      return
    }
    const cluster = new DemoCluster(nodes, logger, {
      progress: (text) => console.log(`… ${text}`),
      notice: (node, text) => console.log(`[${node}] ${text}`),
    })
    try {
      await cluster.start()
    } catch (err) {
      if (!(err instanceof DemoNodeError)) throw err
      logger.error(err.message)
      setExit(1)
      return
    }
    if (opts.publish) await cluster.publish(opts.redundant === true)
    printBanner(cluster, hasChat)
    setExit(await runUntilSignal({ start: async () => {}, stop: () => stopAll(cluster) }, logger))
  })
}

async function stopAll(cluster: DemoCluster): Promise<void> {
  console.log('… stopping every node')
  if ((await cluster.stop()) !== 0) throw new Error('a node did not stop cleanly')
}

function printBanner(cluster: DemoCluster, chat: boolean): void {
  const nodes = cluster.nodes
  const origins = nodes.filter((n) => n.role === 'origin')
  const edges = nodes.filter((n) => n.role === 'edge')
  const first = origins[0] as DemoNode
  const viewer = edges[0] ?? first
  const pad = (label: string) => `  ${label.padEnd(10)}`
  const lines = [
    '',
    `meshcast demo is running: ${origins.length} origin${origins.length === 1 ? '' : 's'} + ${edges.length} edge${edges.length === 1 ? '' : 's'}, one process each`,
    ...cluster.children.map(
      (c) =>
        `${pad(c.node.name)}${webOf(c.node)}/  rtmp ${rtmpOf(c.node).replace('rtmp://', '')}  (pid ${c.pid ?? '?'})`,
    ),
    '',
    `${pad('dashboard')}${webOf(first)}/   (every node has one: the members, the streams, pulls and failovers, live)`,
    `${pad('player')}${webOf(viewer)}/?play=${DEMO_STREAM}   (HTTP-FLV from ${viewer.name}, in the page)`,
    ...(chat ? [`${pad('chat')}${webOf(viewer)}/chatr/chatr.html   (open it on two nodes and talk)`] : []),
    cluster.publishedTo.length > 0
      ? `${pad('live now')}${rtmpOf(first)}/${DEMO_STREAM}  (test pattern + 440 Hz tone, published to ${cluster.publishedTo.map((n) => n.name).join(' and ')})`
      : `${pad('live now')}nothing yet: publish to an origin`,
    ...(cluster.publishedTo.length > 1
      ? [
          `${pad('try')}kill ${first.name} (kill ${cluster.children[0]?.pid ?? '?'}): the edges switch to another origin; watch the dashboard`,
        ]
      : []),
    `${pad('watch')}ffplay ${rtmpOf(viewer)}/${DEMO_STREAM}   (or VLC: Media > Open Network Stream)`,
    `${pad('publish')}ffmpeg -re -i input.mp4 -c:v libx264 -c:a aac -f flv ${rtmpOf(first)}/live/<name>`,
    `${pad('route')}curl '${webOf(first)}/cluster?stream=${DEMO_STREAM}'`,
    `${pad('metrics')}${webOf(first)}/metrics`,
    `${pad('logs')}${cluster.dir}/<node>/node.log`,
    'Ctrl-C stops every node and the publisher.',
    '',
  ]
  console.log(lines.join('\n'))
}
