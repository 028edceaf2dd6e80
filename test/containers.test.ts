import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, type TestContext, test } from 'node:test'
import { promisify } from 'node:util'
import {
  buildMeshcastImage,
  docker,
  dockerMissing,
  ensureNodeBase,
  ensureSwarm,
  exitCode,
  type FlvTag,
  hostPort,
  localCaText,
  oneHostStack,
  type Publisher,
  playWsFlv,
  publish,
  REPO_ROOT,
  SwarmStack,
  type SwarmTask,
  skipOrFail,
  TAG_VIDEO,
  uniquePassword,
  type WsFlvPlayer,
  waitFor,
} from '@meshcast/testing'
import { DEFAULT_SHUTDOWN } from '../packages/config/src/index.ts'
import { STOP_TIMEOUT_MS } from '../packages/node/src/run-until-signal.ts'

/** The image the tests build from the Containerfile (never pushed anywhere). */
const IMAGE = 'meshcast:test'
const STACK = 'mctest'
const STREAM = 'live/swarm'

let missing: string | null = null
let swarmCreatedHere = false
const stack = new SwarmStack(STACK)
const publishers: Publisher[] = []
/** the players of each edge container */
const players = new Map<string, WsFlvPlayer>()

function needDocker(t: TestContext): boolean {
  if (missing === null) return true
  skipOrFail('a Docker engine', missing, t)
  return false
}

const run = promisify(execFile)
const COMPOSE = '/usr/bin/docker-compose'
const PODMAN = '/usr/bin/podman'

/** GET a JSON route of an edge task through its host port. */
async function edgeJson<T>(task: Pick<SwarmTask, 'container'>, path: string): Promise<T> {
  const port = await hostPort(task.container, 5080)
  const res = await fetch(`http://127.0.0.1:${port}${path}`)
  return (await res.json()) as T
}

/** The member ids the edge's view holds, by role. */
async function viewOf(task: Pick<SwarmTask, 'container'>): Promise<{ origins: number; edges: number }> {
  const body = await edgeJson<{ members: { role: string }[] }>(task, '/api/members')
  return {
    origins: body.members.filter((m) => m.role === 'origin').length,
    edges: body.members.filter((m) => m.role === 'edge').length,
  }
}

async function allSee(
  edges: Pick<SwarmTask, 'container'>[],
  want: { origins: number; edges: number },
): Promise<void> {
  await waitFor(
    async () => {
      for (const edge of edges) {
        const view = await viewOf(edge)
        if (view.origins !== want.origins || view.edges !== want.edges) return false
      }
      return true
    },
    { timeout: 60_000, interval: 500, what: `every edge's view to hold ${JSON.stringify(want)}` },
  )
}

async function playFrom(edge: Pick<SwarmTask, 'container'>): Promise<WsFlvPlayer> {
  const port = await hostPort(edge.container, 5080)
  const player = await playWsFlv(`ws://127.0.0.1:${port}/${STREAM}.flv`)
  players.set(edge.container, player)
  return player
}

function videoTags(player: WsFlvPlayer): FlvTag[] {
  return player.tags.filter((tag) => tag.type === TAG_VIDEO)
}

/** The longest time between two video tags arriving, over the tags that came after `since` (ms since the epoch). */
function longestGapSince(player: WsFlvPlayer, since: number): number {
  const tags = videoTags(player).filter((tag) => tag.at >= since)
  let gap = 0
  for (let i = 1; i < tags.length; i++)
    gap = Math.max(gap, (tags[i] as FlvTag).at - (tags[i - 1] as FlvTag).at)
  return gap
}

/** Waits until the player has had `count` more video tags than now. */
async function moreVideo(player: WsFlvPlayer, count: number, what: string): Promise<void> {
  const start = videoTags(player).length
  await waitFor(() => videoTags(player).length >= start + count, { timeout: 30_000, interval: 100, what })
}

/** The mesh id a task logged first (its `starting` line), to tell which origin an edge pulls from. */
async function nodeIdOf(container: string): Promise<string> {
  const logs = await docker(['logs', container])
  const first = JSON.parse(logs.split('\n')[0] ?? '{}') as { node?: string }
  assert.ok(first.node, `no node id in the first log line of ${container}`)
  return first.node
}

describe('the container image, deploy/compose.yaml and a Docker Swarm stack (deploy/stack.yaml)', {
  concurrency: false,
}, () => {
  before(async () => {
    missing = await dockerMissing()
    if (missing !== null) return
    await buildMeshcastImage(IMAGE)
    swarmCreatedHere = await ensureSwarm()
    await stack.remove()
  })

  after(async () => {
    for (const player of players.values()) player.close()
    for (const p of publishers) await p.stop()
    if (missing !== null) return
    await stack.remove()
    if (swarmCreatedHere) await docker(['swarm', 'leave', '--force']).catch(() => undefined)
  })

  test('the image runs meshcast start as PID 1, logs JSON on stdout, and drains and exits 0 on SIGTERM', async (t) => {
    if (!needDocker(t)) return
    const dir = mkdtempSync(join(tmpdir(), 'meshcast-image-'))
    t.after(() => rmSync(dir, { recursive: true, force: true }))
    // the image runs as uid 1000: the mounted secret must be readable by it
    chmodSync(dir, 0o755)
    writeFileSync(join(dir, 'password'), `${uniquePassword()}\n`, { mode: 0o644 })
    const name = `meshcast-image-test-${process.pid}`
    const run = [
      'run',
      '-d',
      '--name',
      name,
      '-v',
      `${dir}:/run/meshcast:ro`,
      '-e',
      'MESHCAST_PASSWORD_FILE=/run/meshcast/password',
      '-e',
      'MESHCAST_MESH_MDNS=false',
      '-e',
      'MESHCAST_NODE_TYPE=origin',
    ]
    const container = (await docker([...run, IMAGE])).trim()
    t.after(() => docker(['rm', '-f', container]).catch(() => undefined))
    await waitFor(
      async () =>
        await docker(['exec', container, '/opt/meshcast/probe.sh', '/readyz']).then(
          () => true,
          () => false,
        ),
      {
        timeout: 30_000,
        interval: 250,
        what: '/readyz to answer 200 inside the container',
      },
    )
    // the entrypoint is Node itself: no launcher's sh as PID 1, not even for a moment
    const pid1 = await docker(['exec', container, 'cat', '/proc/1/cmdline'])
    assert.match(pid1, /node.*meshcast\.js\0start/, 'PID 1 is Node running meshcast start, not a shell')
    const started = Date.now()
    await docker(['stop', '-t', '30', container])
    const stopMs = Date.now() - started
    assert.equal(await exitCode(container), 0)
    // docker logs keeps the two streams apart: this is stdout alone
    const stdout = await docker(['logs', container])
    const lines = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { message: string; role?: string })
    assert.equal(lines[0]?.message, 'starting')
    assert.equal(lines[0]?.role, 'origin')
    assert.ok(
      lines.some((l) => l.message.startsWith('draining')),
      'the stop drained first',
    )
    assert.equal(lines.at(-1)?.message, 'stopped')
    t.diagnostic(`docker stop took ${stopMs} ms`)
    // the stop grace periods of deploy/ are set from this bound: the drain, then at most STOP_TIMEOUT_MS
    assert.ok(stopMs < DEFAULT_SHUTDOWN.drainSeconds * 1000 + STOP_TIMEOUT_MS, `the stop took ${stopMs} ms`)
  })

  test('podman builds the same Containerfile and runs it: ready on /readyz, and SIGTERM drains and exits 0', async (t) => {
    if (!needDocker(t)) return
    if (!existsSync(PODMAN)) {
      skipOrFail('podman', `${PODMAN} not found: apt-get install podman runc`, t)
      return
    }
    const dir = mkdtempSync(join(tmpdir(), 'meshcast-podman-'))
    t.after(() => rmSync(dir, { recursive: true, force: true }))
    // this kernel runs podman with runc and explicit ulimits only (crun and the default ulimits fail)
    const conf = join(dir, 'containers.conf')
    writeFileSync(
      conf,
      '[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n[engine]\nruntime = "runc"\n',
    )
    const podman = async (...args: string[]) =>
      (
        await run(PODMAN, args, {
          env: { ...process.env, CONTAINERS_CONF: conf },
          maxBuffer: 64 * 1024 * 1024,
        })
      ).stdout
    // the same local Node base, handed from docker to podman (no registry here)
    const base = await ensureNodeBase()
    const tar = join(dir, 'base.tar')
    await docker(['save', '-o', tar, base])
    await podman('load', '-q', '-i', tar)
    const image = 'localhost/meshcast:podman-test'
    const build = ['build', '-q', '--format', 'docker', '-f', join(REPO_ROOT, 'Containerfile')]
    build.push('--build-arg', `BASE=localhost/${base}`, '-t', image)
    const ca = localCaText()
    if (ca !== '') build.push('--build-arg', `EXTRA_CA_CERTS=${ca}`)
    await podman(...build, REPO_ROOT)
    t.after(() => podman('rmi', '-f', image).catch(() => undefined))
    const name = `meshcast-podman-test-${process.pid}`
    const container = (
      await podman(
        'run',
        '-d',
        '--name',
        name,
        '-e',
        `MESHCAST_PASSWORD=${uniquePassword()}`,
        '-e',
        'MESHCAST_MESH_MDNS=false',
        image,
      )
    ).trim()
    t.after(() => podman('rm', '-f', container).catch(() => undefined))
    await waitFor(
      async () =>
        await podman('exec', container, '/opt/meshcast/probe.sh', '/readyz').then(
          () => true,
          () => false,
        ),
      { timeout: 30_000, interval: 250, what: '/readyz to answer 200 in the podman container' },
    )
    assert.match(await podman('exec', container, 'cat', '/proc/1/cmdline'), /node.*meshcast\.js\0start/)
    await podman('stop', '-t', '30', container)
    assert.equal((await podman('inspect', '-f', '{{.State.ExitCode}}', container)).trim(), '0')
    assert.match(await podman('logs', container), /"message":"stopped"/)
  })

  test('deploy/compose.yaml with --scale edge=2: one view of two origins and two edges, and both edges play what an origin gets', async (t) => {
    if (!needDocker(t)) return
    if (!existsSync(COMPOSE)) {
      skipOrFail('docker-compose', `${COMPOSE} not found: apt-get install docker-compose`, t)
      return
    }
    const dir = mkdtempSync(join(tmpdir(), 'meshcast-compose-'))
    const file = join(dir, 'compose.yaml')
    writeFileSync(file, oneHostStack(readFileSync(join(REPO_ROOT, 'deploy/compose.yaml'), 'utf8'), IMAGE))
    const project = `mccompose${process.pid}`
    const compose = async (...args: string[]) =>
      await run(COMPOSE, ['-p', project, '-f', file, ...args], {
        env: { ...process.env, MESHCAST_PASSWORD: uniquePassword() },
        maxBuffer: 16 * 1024 * 1024,
      })
    const playing: WsFlvPlayer[] = []
    t.after(async () => {
      for (const player of playing) player.close()
      await compose('down', '--timeout', '30').catch((err: Error) =>
        process.stderr.write(`compose down failed: ${err.message}\n`),
      )
      // a project once outlived its test (four containers up half an hour later): make sure
      const label = `label=com.docker.compose.project=${project}`
      const left = (await docker(['ps', '-aq', '--filter', label])).trim().split('\n').filter(Boolean)
      if (left.length > 0) {
        process.stderr.write(`compose down left ${left.length} containers of ${project}; removing them\n`)
        await docker(['rm', '-f', ...left]).catch(() => undefined)
      }
      await docker(['network', 'rm', `${project}_default`]).catch(() => undefined)
      rmSync(dir, { recursive: true, force: true })
    })
    await compose('up', '-d', '--scale', 'edge=2')
    const containers = async (service: string) =>
      (
        await docker([
          'ps',
          '-q',
          '--filter',
          `label=com.docker.compose.project=${project}`,
          '--filter',
          `label=com.docker.compose.service=${service}`,
        ])
      )
        .trim()
        .split('\n')
        .filter((id) => id !== '')
        .map((container) => ({ container }))
    const edges = await containers('edge')
    const [originA] = await containers('origin-a')
    assert.equal(edges.length, 2)
    assert.ok(originA)
    await allSee(edges, { origins: 2, edges: 2 })
    const publisher = await publish(`rtmp://127.0.0.1:${await hostPort(originA.container, 1935)}/${STREAM}`)
    t.after(() => publisher.stop())
    for (const edge of edges) {
      const port = await hostPort(edge.container, 5080)
      const player = await playWsFlv(`ws://127.0.0.1:${port}/${STREAM}.flv`)
      playing.push(player)
      await moreVideo(player, 50, `video from a compose edge`)
    }
    await compose('stop', '--timeout', '30')
    for (const { container } of [...edges, originA])
      assert.equal(await exitCode(container), 0, `${container} exits 0 on compose stop`)
  })

  test('2 origins and 2 edges deployed as a stack form one view, and a stream published to the origins plays from every edge', async (t) => {
    if (!needDocker(t)) return
    await stack.secret('meshcast_password', uniquePassword())
    await stack.deploy(join(REPO_ROOT, 'deploy/stack.yaml'), IMAGE)
    const origins = await stack.healthy('origins', 2)
    const edges = await stack.healthy('edges', 2)
    await allSee(edges, { origins: 2, edges: 2 })
    // the same stream on both origins: Red5 Pro's redundant origins, which edges fail over between
    for (const origin of origins) {
      const port = await hostPort(origin.container, 1935)
      publishers.push(await publish(`rtmp://127.0.0.1:${port}/${STREAM}`))
    }
    for (const edge of edges) await moreVideo(await playFrom(edge), 50, `video from edge ${edge.slot}`)
  })

  test('docker service scale edges=4: the new edges join with no restart and serve the stream', async (t) => {
    if (!needDocker(t)) return
    const before = await stack.tasks('edges')
    await stack.scale('edges', 4)
    const edges = await stack.healthy('edges', 4)
    for (const old of before)
      assert.ok(
        edges.some((e) => e.container === old.container),
        'the first edges kept running',
      )
    await allSee(edges, { origins: 2, edges: 4 })
    for (const edge of edges.filter((e) => !players.has(e.container))) {
      await moreVideo(await playFrom(edge), 50, `video from the new edge ${edge.slot}`)
    }
  })

  test('scaling edges back to 2: the removed edges drain and exit 0, and players on the others see no gap', async (t) => {
    if (!needDocker(t)) return
    const before = await stack.tasks('edges')
    const since = Date.now()
    await stack.scale('edges', 2)
    const kept = await stack.healthy('edges', 2)
    const removed = before.filter((e) => !kept.some((k) => k.container === e.container))
    assert.equal(removed.length, 2)
    for (const edge of removed) {
      await waitFor(async () => (await exitCode(edge.container)) !== null, {
        timeout: 60_000,
        interval: 250,
        what: `edge ${edge.slot} to stop`,
      })
      assert.equal(await exitCode(edge.container), 0, `edge ${edge.slot} exits 0 on swarm's SIGTERM`)
      const logs = await docker(['logs', edge.container])
      assert.match(logs, /"message":"draining: waiting for players to leave"/, `edge ${edge.slot} drained`)
      // its player was served while the edge drained (no longer routed to), and cut only at the end
      const player = players.get(edge.container)
      assert.ok(player, `a player on edge ${edge.slot}`)
      const servedFor = (videoTags(player).at(-1)?.at ?? 0) - since
      t.diagnostic(
        `removed edge ${edge.slot}: its player got video for ${servedFor} ms after the scale-in began`,
      )
      assert.ok(servedFor > 1000, `the removed edge ${edge.slot} kept its player ${servedFor} ms`)
      await waitFor(() => player.closed !== null, {
        timeout: 5000,
        what: `the player of the removed edge ${edge.slot} to be closed`,
      })
    }
    await allSee(kept, { origins: 2, edges: 2 })
    for (const edge of kept) {
      const player = players.get(edge.container)
      assert.ok(player, `a player on edge ${edge.slot}`)
      await moreVideo(player, 25, `video on edge ${edge.slot} after the scale-in`)
      const gap = longestGapSince(player, since)
      t.diagnostic(`edge ${edge.slot}: longest gap between video tags across the scale-in ${gap} ms`)
      assert.ok(gap < 1000, `edge ${edge.slot}'s player saw a ${gap} ms gap`)
      assert.equal(player.closed, null)
    }
  })

  test('docker kill of the origin the edges pull from: swarm starts it again, the edges fail over, their players go on', async (t) => {
    if (!needDocker(t)) return
    const origins = await stack.tasks('origins')
    const edges = await stack.tasks('edges')
    const first = edges[0] as SwarmTask
    const carriers = await edgeJson<{
      streams: { path: string; carriers: { node: string; via: string[] }[] }[]
    }>(first, '/api/streams')
    const edgeId = await nodeIdOf(first.container)
    const own = carriers.streams.find((s) => s.path === `/${STREAM}`)?.carriers.find((c) => c.node === edgeId)
    assert.ok(own, 'the edge carries the stream')
    const ids = await Promise.all(origins.map(async (o) => ({ task: o, id: await nodeIdOf(o.container) })))
    const upstream = ids.find((o) => own.via.includes(o.id))
    assert.ok(upstream, `the edge pulls from one of the origins (via ${own.via.join(', ')})`)
    const since = Date.now()
    await docker(['kill', upstream.task.container])
    for (const edge of edges) {
      const player = players.get(edge.container)
      assert.ok(player)
      await moreVideo(player, 50, `video on edge ${edge.slot} after its origin was killed`)
      t.diagnostic(
        `edge ${edge.slot}: longest gap between video tags across the failover ${longestGapSince(player, since)} ms`,
      )
      assert.equal(player.closed, null, 'the player was never cut')
    }
    const restarted = await stack.healthy('origins', 2)
    assert.ok(
      !restarted.some((o) => o.container === upstream.task.container),
      "a new container took the killed one's place",
    )
    await allSee(edges, { origins: 2, edges: 2 })
  })
})
