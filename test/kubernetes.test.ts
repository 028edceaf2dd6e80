// The Kubernetes manifests of deploy/kubernetes, checked offline: the base and every overlay are
// rendered by `kubectl kustomize`, every object is validated against its API schema
// (kubernetes-models, @kubernetes-models/keda), and the properties the cluster depends on are
// asserted. No cluster runs here: this proves the manifests are well formed and consistent, not
// that they run. Needs kubectl (under CI=true a missing one fails the test).
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import * as keda from '@kubernetes-models/keda/keda.sh/v1alpha1'
import { type SkippableContext, skipOrFail } from '@meshcast/testing'
import * as apps from 'kubernetes-models/apps/v1'
import * as autoscaling from 'kubernetes-models/autoscaling/v2'
import * as policy from 'kubernetes-models/policy/v1'
import * as core from 'kubernetes-models/v1'
import { parse, parseAllDocuments } from 'yaml'
import { DEFAULT_SHUTDOWN, ENV_VARIABLES } from '../packages/config/src/index.ts'
import { STOP_TIMEOUT_MS } from '../packages/node/src/run-until-signal.ts'

const KUBECTL = 'kubectl'
const ROOT = fileURLToPath(new URL('../deploy/kubernetes/', import.meta.url))
const OVERLAYS = readdirSync(join(ROOT, 'overlays')).sort()

/** Every MESHCAST_* variable meshcast reads (packages/config, the CLI's four, MESHCAST_FFMPEG). */
const DOCUMENTED_VARIABLES = new Set(ENV_VARIABLES)
/** shutdown.drain when MESHCAST_SHUTDOWN_DRAIN is not set (packages/config). */
const DEFAULT_DRAIN_S = DEFAULT_SHUTDOWN.drainSeconds
/** The most a node's stop takes beyond shutdown.drain. */
const STOP_MAX_S = STOP_TIMEOUT_MS / 1000
const HTTP_PORT = 5080

// --- the manifests' shapes, as far as the assertions read them ---

type Labels = Record<string, string>
interface EnvVar {
  name: string
  value?: string
  valueFrom?: { fieldRef?: { fieldPath: string } }
}
interface Probe {
  httpGet?: { path: string; port: number | string }
}
interface Container {
  name: string
  env?: EnvVar[]
  ports?: { name?: string; containerPort: number }[]
  startupProbe?: Probe
  livenessProbe?: Probe
  readinessProbe?: Probe
  lifecycle?: { preStop?: { exec?: { command: string[] } } }
  volumeMounts?: { name: string; mountPath: string }[]
  securityContext?: {
    allowPrivilegeEscalation?: boolean
    readOnlyRootFilesystem?: boolean
    capabilities?: { drop?: string[] }
  }
}
interface PodSpec {
  containers: Container[]
  terminationGracePeriodSeconds?: number
  securityContext?: { runAsNonRoot?: boolean }
  volumes?: { name: string; secret?: { secretName: string } }[]
}
interface Workload {
  kind: string
  metadata: { name: string }
  spec: { replicas?: number; template: { metadata: { labels: Labels }; spec: PodSpec } }
}
interface Manifest {
  apiVersion: string
  kind: string
  metadata: { name: string }
  // biome-ignore lint/suspicious/noExplicitAny: each assertion reads the spec of the kind it picked
  spec?: any
  data?: Record<string, string>
}
interface Rendered {
  dir: string
  objects: Manifest[]
}

// --- kubernetes-models: one model class per apiVersion/kind ---

interface ModelClass {
  apiVersion: string
  kind: string
  new (data: unknown): { validate(): void }
}

function isModelClass(value: unknown): value is ModelClass {
  return typeof value === 'function' && 'apiVersion' in value && 'kind' in value
}

const MODELS = new Map<string, ModelClass>()
for (const group of [core, apps, policy, autoscaling, keda])
  for (const value of Object.values(group))
    if (isModelClass(value)) MODELS.set(`${value.apiVersion}/${value.kind}`, value)

// --- rendering ---

const run = promisify(execFile)

/** Why kubectl cannot be run here, or null when it can. */
async function kubectlMissing(): Promise<string | null> {
  try {
    await run(KUBECTL, ['version', '--client'])
    return null
  } catch (err) {
    return `no usable ${KUBECTL} on PATH (${(err as Error).message.split('\n')[0]})`
  }
}

async function render(dir: string): Promise<Rendered> {
  const { stdout } = await run(KUBECTL, ['kustomize', join(ROOT, dir)], { maxBuffer: 16 * 1024 * 1024 })
  const docs = parseAllDocuments(stdout)
  const objects: Manifest[] = []
  for (const doc of docs) {
    assert.deepEqual(doc.errors, [], `${dir}: YAML errors`)
    const value = doc.toJS() as Manifest | null
    if (value !== null) objects.push(value)
  }
  return { dir, objects }
}

let rendering: Promise<Rendered[] | string> | null = null

/** The base and every overlay, rendered once for all tests; or why they cannot be. */
function renderAll(): Promise<Rendered[] | string> {
  rendering ??= (async () => {
    const missing = await kubectlMissing()
    if (missing !== null) return missing
    return await Promise.all(['base', ...OVERLAYS.map((o) => `overlays/${o}`)].map(render))
  })()
  return rendering
}

/** Runs `body` on the rendered manifests; skipped (or failed in CI) without kubectl. */
function withManifests(body: (sets: Rendered[]) => void): (t: SkippableContext) => Promise<void> {
  return async (t) => {
    const sets = await renderAll()
    if (typeof sets === 'string') {
      skipOrFail('kubectl (for kubectl kustomize)', sets, t)
      return
    }
    body(sets)
  }
}

// --- reading the objects ---

const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet'])

function ofKind(set: Rendered, kind: string): Manifest[] {
  return set.objects.filter((o) => o.kind === kind)
}

function workloads(set: Rendered): Workload[] {
  return set.objects.filter((o) => WORKLOAD_KINDS.has(o.kind)) as unknown as Workload[]
}

function named(set: Rendered, kind: string, name: string): Manifest {
  const found = ofKind(set, kind).find((o) => o.metadata.name === name)
  assert.ok(found, `${set.dir}: no ${kind} ${name}`)
  return found
}

/** Every container of every workload, with where it is (for messages). */
function containers(set: Rendered): { where: string; pod: PodSpec; container: Container }[] {
  return workloads(set).flatMap((w) =>
    w.spec.template.spec.containers.map((container) => ({
      where: `${set.dir}: ${w.kind} ${w.metadata.name}, container ${container.name}`,
      pod: w.spec.template.spec,
      container,
    })),
  )
}

function env(container: Container, name: string): EnvVar | undefined {
  return container.env?.find((e) => e.name === name)
}

function selects(selector: Labels, labels: Labels): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v)
}

/** The workloads whose pods `selector` selects. */
function selected(set: Rendered, selector: Labels): Workload[] {
  return workloads(set).filter((w) => selects(selector, w.spec.template.metadata.labels))
}

/** A probe's port as a number, a named one looked up among the container's ports. */
function probePort(container: Container, port: number | string): number | undefined {
  return typeof port === 'number' ? port : container.ports?.find((p) => p.name === port)?.containerPort
}

/** `host[:port]` → [host, port]. */
function hostPort(text: string, defaultPort: number): [string, number] {
  const [host = '', port] = text.split(':')
  return [host, port === undefined ? defaultPort : Number(port)]
}

/** The headless Service `host` names, and that it offers `port`. */
function assertHeadlessServiceFor(set: Rendered, where: string, host: string, port: number): Manifest {
  const service = named(set, 'Service', host)
  assert.equal(service.spec.clusterIP, 'None', `${where}: ${host} is not headless`)
  const ports = (service.spec.ports as { port: number }[]).map((p) => p.port)
  assert.ok(ports.includes(port), `${where}: ${host} offers ports ${ports}, not ${port}`)
  return service
}

function autoscaledDeployment(set: Rendered, ref: { apiVersion?: string; kind?: string; name: string }) {
  assert.equal(ref.apiVersion, 'apps/v1', `${set.dir}: scaleTargetRef.apiVersion`)
  assert.equal(ref.kind ?? 'Deployment', 'Deployment', `${set.dir}: scaleTargetRef.kind`)
  const target = named(set, 'Deployment', ref.name) as unknown as Workload
  const container = target.spec.template.spec.containers[0]
  assert.ok(container, `${set.dir}: ${ref.name} has no container`)
  assert.equal(
    env(container, 'MESHCAST_NODE_TYPE')?.value,
    'edge',
    `${set.dir}: ${ref.name} is not the edges`,
  )
  assert.equal(
    target.spec.replicas,
    undefined,
    `${set.dir}: ${ref.name} sets replicas, which an apply resets`,
  )
}

interface ScaleDown {
  stabilizationWindowSeconds?: number
  policies?: { type: string; value: number; periodSeconds: number }[]
}

/** Scale-in waits at least 5 minutes below target, then removes at most one pod per policy period. */
function assertSlowScaleDown(where: string, scaleDown: ScaleDown | undefined): void {
  assert.ok(scaleDown, `${where}: no behavior.scaleDown`)
  assert.ok(
    (scaleDown.stabilizationWindowSeconds ?? 0) >= 300,
    `${where}: scale-in stabilizes for under 300 s`,
  )
  const policies = scaleDown.policies ?? []
  assert.ok(policies.length > 0, `${where}: no scale-in policy`)
  for (const p of policies) {
    assert.deepEqual([p.type, p.value], ['Pods', 1], `${where}: a scale-in policy removes more than one pod`)
    assert.ok(p.periodSeconds >= 60, `${where}: a scale-in policy acts more than once a minute`)
  }
}

describe('Kubernetes manifests (deploy/kubernetes)', () => {
  test('there are overlays for a load balancer, a HorizontalPodAutoscaler and KEDA', () => {
    for (const overlay of ['loadbalancer', 'hpa', 'keda']) assert.ok(OVERLAYS.includes(overlay), overlay)
  })

  test(
    'the base and every overlay render with kustomize, and every object passes the schema of its kind',
    withManifests((sets) => {
      for (const set of sets) {
        assert.ok(set.objects.length > 0, `${set.dir}: renders nothing`)
        for (const object of set.objects) {
          const what = `${set.dir}: ${object.apiVersion} ${object.kind} ${object.metadata?.name}`
          const Model = MODELS.get(`${object.apiVersion}/${object.kind}`)
          if (Model === undefined) assert.fail(`${what}: a kind with no schema to validate it against`)
          assert.doesNotThrow(() => new Model(object).validate(), what)
        }
      }
    }),
  )

  test(
    'the mesh and origins Services are headless and publish pods that are not ready yet, so members find each other before they are ready',
    withManifests((sets) => {
      for (const set of sets) {
        for (const name of ['meshcast-mesh', 'meshcast-origins']) {
          const service = named(set, 'Service', name)
          assert.equal(service.spec.clusterIP, 'None', `${set.dir}: ${name}`)
          assert.equal(service.spec.publishNotReadyAddresses, true, `${set.dir}: ${name}`)
        }
        for (const service of ofKind(set, 'Service').filter((s) => s.spec.clusterIP === 'None'))
          assert.equal(service.spec.publishNotReadyAddresses, true, `${set.dir}: ${service.metadata.name}`)
      }
    }),
  )

  test(
    'every container is probed for liveness on /healthz and for readiness on /readyz at port 5080, after a startup probe',
    withManifests((sets) => {
      for (const { where, container } of sets.flatMap(containers)) {
        const probes = { startupProbe: null, livenessProbe: '/healthz', readinessProbe: '/readyz' } as const
        for (const [kind, path] of Object.entries(probes)) {
          const get = container[kind as keyof typeof probes]?.httpGet
          assert.ok(get, `${where}: no HTTP ${kind}`)
          if (path !== null) assert.equal(get.path, path, `${where}: ${kind}`)
          else assert.ok(['/healthz', '/readyz'].includes(get.path), `${where}: ${kind} on ${get.path}`)
          assert.equal(probePort(container, get.port), HTTP_PORT, `${where}: ${kind} port`)
        }
      }
    }),
  )

  test(
    'every pod may take longer to stop than its preStop sleep, its shutdown drain and the 10 s a stop lasts at most',
    withManifests((sets) => {
      for (const { where, pod, container } of sets.flatMap(containers)) {
        const command = container.lifecycle?.preStop?.exec?.command ?? []
        assert.equal(command[0], 'sleep', `${where}: the preStop hook is not a sleep`)
        const sleep = Number(command[1])
        assert.ok(sleep > 0, `${where}: preStop sleeps ${command[1]}`)
        const drainText = env(container, 'MESHCAST_SHUTDOWN_DRAIN')?.value
        const drain = drainText === undefined ? DEFAULT_DRAIN_S : Number(drainText)
        const grace = pod.terminationGracePeriodSeconds ?? 30
        assert.ok(
          grace > sleep + drain + STOP_MAX_S,
          `${where}: grace ${grace} s is not above preStop ${sleep} + drain ${drain} + ${STOP_MAX_S} s`,
        )
      }
    }),
  )

  test(
    'every pod takes its public address from the downward API (status.podIP) and looks for members without mDNS',
    withManifests((sets) => {
      for (const { where, container } of sets.flatMap(containers)) {
        const ip = env(container, 'MESHCAST_PUBLIC_IP')
        assert.equal(ip?.valueFrom?.fieldRef?.fieldPath, 'status.podIP', `${where}: MESHCAST_PUBLIC_IP`)
        assert.equal(env(container, 'MESHCAST_MESH_MDNS')?.value, 'false', `${where}: MESHCAST_MESH_MDNS`)
      }
    }),
  )

  test(
    'every pod finds its mesh peers, and every edge its origins, through a headless Service that selects them',
    withManifests((sets) => {
      for (const set of sets) {
        for (const { where, container } of containers(set)) {
          const peers = env(container, 'MESHCAST_MESH_PEERS')?.value
          assert.ok(peers, `${where}: no MESHCAST_MESH_PEERS`)
          const [peerHost, peerPort] = hostPort(peers, 7800)
          const mesh = assertHeadlessServiceFor(set, where, peerHost, peerPort)
          const members = selected(set, mesh.spec.selector).map((w) => w.metadata.name)
          assert.deepEqual(
            members.sort(),
            workloads(set)
              .map((w) => w.metadata.name)
              .sort(),
            `${where}: peers`,
          )
          if (env(container, 'MESHCAST_NODE_TYPE')?.value !== 'edge') continue
          const origins = env(container, 'MESHCAST_ORIGINS')?.value
          assert.ok(origins, `${where}: an edge without MESHCAST_ORIGINS`)
          const [originHost, originPort] = hostPort(origins, 1935)
          const service = assertHeadlessServiceFor(set, where, originHost, originPort)
          const origin = selected(set, service.spec.selector)
          assert.ok(origin.length > 0, `${where}: ${originHost} selects no pods`)
          for (const w of origin) {
            const types = w.spec.template.spec.containers.map((c) => env(c, 'MESHCAST_NODE_TYPE')?.value)
            assert.deepEqual(types, ['origin'], `${where}: ${originHost} selects ${w.metadata.name}`)
          }
        }
      }
    }),
  )

  test(
    'every Service selects the pods of some workload, on ports their containers have',
    withManifests((sets) => {
      for (const set of sets) {
        for (const service of ofKind(set, 'Service')) {
          const where = `${set.dir}: Service ${service.metadata.name}`
          const targets = selected(set, service.spec.selector ?? {})
          assert.ok(service.spec.selector && targets.length > 0, `${where} selects no workload's pods`)
          for (const p of service.spec.ports as { port: number; targetPort?: number | string }[]) {
            for (const w of targets) {
              const container = w.spec.template.spec.containers[0]
              assert.ok(container, `${where}: ${w.metadata.name} has no container`)
              const target = p.targetPort ?? p.port
              const declared = container.ports?.some(
                (cp) => cp.name === target || cp.containerPort === target,
              )
              assert.ok(declared, `${where}: port ${p.port} → ${target} is not a port of ${w.metadata.name}`)
            }
          }
        }
      }
    }),
  )

  test(
    'every PodDisruptionBudget selects existing pods and still lets a drain evict one of them',
    withManifests((sets) => {
      for (const set of sets) {
        const budgets = ofKind(set, 'PodDisruptionBudget')
        assert.equal(budgets.length, 2, `${set.dir}: one budget for origins and one for edges`)
        for (const pdb of budgets) {
          const where = `${set.dir}: PodDisruptionBudget ${pdb.metadata.name}`
          const targets = selected(set, pdb.spec.selector.matchLabels)
          assert.equal(targets.length, 1, `${where} selects ${targets.length} workloads`)
          const replicas = targets[0]?.spec.replicas
          if (pdb.spec.minAvailable !== undefined) {
            assert.ok(pdb.spec.minAvailable >= 1, `${where}: minAvailable below 1`)
            if (replicas !== undefined)
              assert.ok(pdb.spec.minAvailable < replicas, `${where} blocks every drain`)
          } else assert.ok(pdb.spec.maxUnavailable >= 1, `${where} blocks every drain`)
        }
      }
    }),
  )

  test(
    'the HorizontalPodAutoscaler scales the edge Deployment on meshcast_subscribers per pod, and scales in slowly',
    withManifests((sets) => {
      const scalers = sets.flatMap((set) =>
        ofKind(set, 'HorizontalPodAutoscaler').map((hpa) => ({ set, hpa })),
      )
      assert.deepEqual(
        scalers.map((s) => s.set.dir),
        ['overlays/hpa'],
      )
      for (const { set, hpa } of scalers) {
        autoscaledDeployment(set, hpa.spec.scaleTargetRef)
        assert.deepEqual(
          hpa.spec.metrics.map((m: { type: string; pods?: { metric: { name: string } } }) => [
            m.type,
            m.pods?.metric.name,
          ]),
          [['Pods', 'meshcast_subscribers']],
        )
        assert.ok(Number(hpa.spec.metrics[0].pods.target.averageValue) > 0, 'players per edge')
        assert.ok(hpa.spec.minReplicas >= 2, 'at least two edges')
        assertSlowScaleDown(set.dir, hpa.spec.behavior?.scaleDown)
      }
    }),
  )

  test('the prometheus-adapter rule serves meshcast_subscribers per pod, for the HorizontalPodAutoscaler', () => {
    const values = parse(readFileSync(join(ROOT, 'overlays/hpa/prometheus-adapter-values.yaml'), 'utf8'))
    const rules = values.rules.custom as {
      seriesQuery: string
      resources: { overrides: Record<string, { resource: string }> }
      name: { as: string }
      metricsQuery: string
    }[]
    const rule = rules.find((r) => r.name.as === 'meshcast_subscribers')
    assert.ok(rule, 'no rule names a metric meshcast_subscribers')
    assert.match(rule.seriesQuery, /^meshcast_subscribers\{/)
    assert.equal(rule.resources.overrides.pod?.resource, 'pod')
    assert.equal(rule.resources.overrides.namespace?.resource, 'namespace')
    assert.match(rule.metricsQuery, /^sum\(<<\.Series>>\{<<\.LabelMatchers>>\}\) by \(<<\.GroupBy>>\)$/)
  })

  test(
    'the KEDA ScaledObject scales the edge Deployment on the players of the edge pods, and scales in slowly',
    withManifests((sets) => {
      const scalers = sets.flatMap((set) => ofKind(set, 'ScaledObject').map((so) => ({ set, so })))
      assert.deepEqual(
        scalers.map((s) => s.set.dir),
        ['overlays/keda'],
      )
      for (const { set, so } of scalers) {
        autoscaledDeployment(set, so.spec.scaleTargetRef)
        assert.equal(so.spec.triggers.length, 1)
        const trigger = so.spec.triggers[0]
        assert.equal(trigger.type, 'prometheus')
        assert.equal(trigger.metricType, 'AverageValue')
        assert.match(trigger.metadata.query, /^sum\(meshcast_subscribers\{.*pod=~"meshcast-edge-\.\*".*\}\)$/)
        assert.match(trigger.metadata.serverAddress, /^https?:\/\//)
        assert.ok(Number(trigger.metadata.threshold) > 0, 'players per edge')
        assert.ok(so.spec.minReplicaCount >= 2, 'at least two edges')
        assertSlowScaleDown(set.dir, so.spec.advanced?.horizontalPodAutoscalerConfig?.behavior?.scaleDown)
      }
    }),
  )

  test(
    'every MESHCAST_ variable the manifests set is one meshcast reads',
    withManifests((sets) => {
      for (const { where, container } of sets.flatMap(containers))
        for (const { name } of container.env ?? [])
          if (name.startsWith('MESHCAST_')) assert.ok(DOCUMENTED_VARIABLES.has(name), `${where}: ${name}`)
    }),
  )

  test(
    'every pod reads a lowercase cluster password from a mounted Secret of the same manifests',
    withManifests((sets) => {
      for (const set of sets) {
        for (const { where, pod, container } of containers(set)) {
          assert.equal(env(container, 'MESHCAST_PASSWORD'), undefined, `${where}: a password in the pod spec`)
          const file = env(container, 'MESHCAST_PASSWORD_FILE')?.value
          assert.ok(file, `${where}: no MESHCAST_PASSWORD_FILE`)
          const mount = container.volumeMounts?.find((m) => file.startsWith(`${m.mountPath}/`))
          assert.ok(mount, `${where}: ${file} is on no mounted volume`)
          const secretName = pod.volumes?.find((v) => v.name === mount.name)?.secret?.secretName
          assert.ok(secretName, `${where}: ${mount.mountPath} is not a Secret`)
          const key = file.slice(mount.mountPath.length + 1)
          const value = named(set, 'Secret', secretName).data?.[key]
          assert.ok(value, `${where}: Secret ${secretName} has no key ${key}`)
          const password = Buffer.from(value, 'base64').toString('utf8')
          assert.equal(password, password.toLowerCase(), `${where}: the password has capitals`)
        }
      }
    }),
  )

  test(
    'every container runs as non-root, with a read-only root filesystem, no privilege escalation and no capabilities',
    withManifests((sets) => {
      for (const { where, pod, container } of sets.flatMap(containers)) {
        assert.equal(pod.securityContext?.runAsNonRoot, true, `${where}: runAsNonRoot`)
        const sc = container.securityContext
        assert.equal(sc?.readOnlyRootFilesystem, true, `${where}: readOnlyRootFilesystem`)
        assert.equal(sc?.allowPrivilegeEscalation, false, `${where}: allowPrivilegeEscalation`)
        assert.deepEqual(sc?.capabilities?.drop, ['ALL'], `${where}: capabilities`)
      }
    }),
  )
})
