import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse, stringify } from 'yaml'
import { docker } from './container-image.ts'
import { waitFor } from './wait-for.ts'

/** One running task of a service, as the test reaches it. */
export interface SwarmTask {
  /** the container's id */
  container: string
  /** the task's slot (1, 2, …): swarm removes the highest on scale-in */
  slot: number
}

type Port = { target: number; published?: number; protocol?: string; mode?: string } | string
type Service = {
  image?: string
  ports?: Port[]
  deploy?: { placement?: unknown; replicas?: number }
}

/**
 * A stack or Compose file made fit for one host and for tests beside it: `image` replaced, and what only
 * several hosts allow taken out (the placement by node label and one
 * replica a host, and the fixed host ports, which replicas on one host
 * would share and other tests' listeners may hold): docker then gives
 * each container host ports of its own.
 */
export function oneHostStack(text: string, image: string, secretPrefix = ''): string {
  const stack = parse(text, { merge: true }) as {
    services: Record<string, Service>
    secrets?: Record<string, { external?: boolean; name?: string }>
  }
  // an external secret under a name of the test's own, so an operator's secret of the same name is untouched
  for (const [key, secret] of Object.entries(stack.secrets ?? {})) {
    if (secret.external === true && secretPrefix !== '') secret.name = `${secretPrefix}${key}`
  }
  for (const service of Object.values(stack.services)) {
    service.image = image
    if (service.deploy !== undefined) delete service.deploy.placement
    service.ports = (service.ports ?? []).map(containerPortOnly)
  }
  const out = { ...stack } as Record<string, unknown>
  // extension fields are anchors' homes only; the merged services hold their content now
  for (const key of Object.keys(out)) if (key.startsWith('x-')) delete out[key]
  return stringify(out, { aliasDuplicateObjects: false })
}

/** `"1936:1935"` → `"1935"`; `{ target, published }` → `{ target }`: docker picks the host port. */
function containerPortOnly(port: Port): Port {
  if (typeof port === 'string') return port.split(':').at(-1) ?? port
  const { published: _published, ...rest } = port
  return rest
}

/** Whether this engine is a swarm manager; if not, makes it one on loopback. Returns whether it did. */
export async function ensureSwarm(): Promise<boolean> {
  const state = (await docker(['info', '--format', '{{.Swarm.LocalNodeState}}'])).trim()
  if (state === 'active') return false
  await docker(['swarm', 'init', '--advertise-addr', '127.0.0.1'])
  return true
}

/** A stack deployed for one test, removed (with its secret) by `remove()`. */
export class SwarmStack {
  readonly name: string
  readonly #secrets: string[] = []

  constructor(name: string) {
    this.name = name
  }

  /** (Re)creates the external secret the stack file calls `key`, under this stack's own name for it. */
  async secret(key: string, value: string): Promise<void> {
    const name = `${this.name}_${key}`
    await docker(['secret', 'rm', name]).catch(() => undefined)
    await docker(['secret', 'create', name, '-'], { input: value })
    this.#secrets.push(name)
  }

  async deploy(stackFile: string, image: string): Promise<void> {
    const dir = mkdtempSync(join(tmpdir(), 'meshcast-stack-'))
    try {
      const file = join(dir, 'stack.yaml')
      writeFileSync(file, oneHostStack(readFileSync(stackFile, 'utf8'), image, `${this.name}_`))
      await docker(['stack', 'deploy', '--prune', '-c', file, this.name])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }

  service(short: string): string {
    return `${this.name}_${short}`
  }

  /** Running tasks of a service (containers up), by slot. */
  async tasks(short: string): Promise<SwarmTask[]> {
    const out = await docker([
      'ps',
      '--filter',
      `label=com.docker.swarm.service.name=${this.service(short)}`,
      '--format',
      '{{.ID}} {{.Label "com.docker.swarm.task.name"}}',
    ])
    const tasks: SwarmTask[] = []
    for (const line of out.trim().split('\n')) {
      const [container, task] = line.split(' ')
      const slot = Number(task?.split('.')[1])
      if (container !== undefined && container !== '' && Number.isInteger(slot))
        tasks.push({ container, slot })
    }
    return tasks.sort((a, b) => a.slot - b.slot)
  }

  /** Waits until a service has exactly `count` running tasks, every one healthy. */
  async healthy(short: string, count: number, timeout = 90_000): Promise<SwarmTask[]> {
    return await waitFor(
      async () => {
        const tasks = await this.tasks(short)
        if (tasks.length !== count) return false
        for (const task of tasks) if ((await health(task.container)) !== 'healthy') return false
        return tasks
      },
      { timeout, interval: 500, what: `${count} healthy tasks of ${this.service(short)}` },
    )
  }

  async scale(short: string, replicas: number): Promise<void> {
    await docker(['service', 'scale', '--detach', `${this.service(short)}=${replicas}`])
  }

  async remove(): Promise<void> {
    await docker(['stack', 'rm', this.name]).catch(() => undefined)
    // the network and the secret can go only once the tasks' containers have
    const left = async () =>
      await docker(['ps', '-aq', '--filter', `label=com.docker.stack.namespace=${this.name}`])
    await waitFor(async () => (await left()).trim() === '', {
      timeout: 60_000,
      interval: 500,
      what: `the containers of stack ${this.name} to go`,
    }).catch(() => undefined)
    for (const name of this.#secrets) await docker(['secret', 'rm', name]).catch(() => undefined)
  }
}

/** A container's health: 'starting', 'healthy', 'unhealthy', or 'none'. */
export async function health(container: string): Promise<string> {
  const out = await docker([
    'inspect',
    '-f',
    '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}',
    container,
  ])
  return out.trim()
}

/** The host port docker gave a task's container port (`5080/tcp` → 32768). */
export async function hostPort(container: string, port: number): Promise<number> {
  const out = await docker(['port', container, `${port}/tcp`])
  const m = /:(\d+)\s*$/m.exec(out.trim().split('\n')[0] ?? '')
  if (m === null) throw new Error(`container ${container} publishes no host port for ${port}/tcp: ${out}`)
  return Number(m[1])
}

/** A stopped container's exit code, or null while it runs. */
export async function exitCode(container: string): Promise<number | null> {
  const out = await docker(['inspect', '-f', '{{.State.Running}} {{.State.ExitCode}}', container])
  const [running, code] = out.trim().split(' ')
  return running === 'true' ? null : Number(code)
}
