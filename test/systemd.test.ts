// deploy/systemd/meshcast.service, checked as far as a machine without a running systemd allows:
// systemd-analyze reads the unit offline, its numbers are held against the daemon's code, and
// the daemon is started the way its ExecStart= starts it (argv, environment, credential and
// cache directories; as root also an unprivileged uid, no capabilities, no_new_privs and a
// read-only file system), stopped with its KillSignal=, and traced against its seccomp filter.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { randomInt } from 'node:crypto'
import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, type TestContext, test } from 'node:test'
import {
  clusterXml,
  loopbackSubnet,
  NodeProcess,
  play,
  publish,
  type SkippableContext,
  skipOrFail,
  uniquePassword,
  waitFor,
} from '@meshcast/testing'
import { DEFAULT_SHUTDOWN, ENV_VARIABLES } from '../packages/config/src/index.ts'
import { STOP_TIMEOUT_MS } from '../packages/node/src/run-until-signal.ts'

const ROOT = join(import.meta.dirname, '..')
const UNIT_FILE = join(ROOT, 'deploy', 'systemd', 'meshcast.service')
const ENV_EXAMPLE = join(ROOT, 'deploy', 'systemd', 'meshcast.env.example')
/** Where the unit expects the checkout; the tests put this one there instead. */
const INSTALL_DIR = '/opt/meshcast'
/** What PID 1 gives a system service as PATH (systemd.exec(5), "Environment variables in spawned processes"). */
const SYSTEMD_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin'
/** Time beyond the daemon's own deadline for Node to exit and systemd to see it: TimeoutStopSec >= drain + 10 s + this. */
const EXIT_MARGIN_S = 5
/** The worst `systemd-analyze security` rating accepted: 'OK' and better. */
const MAX_EXPOSURE = 2.0

type Section = Map<string, string[]>
type Unit = Map<string, Section>

/** A unit file's sections and keys; a key given twice keeps both values, in order. */
function parseUnit(text: string): Unit {
  const unit: Unit = new Map()
  let section: Section | undefined
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue
    const header = /^\[(.+)\]$/.exec(line)
    if (header?.[1] !== undefined) {
      section = new Map()
      unit.set(header[1], section)
      continue
    }
    const eq = line.indexOf('=')
    if (section === undefined || eq < 0 || line.endsWith('\\'))
      throw new Error(`not a simple unit line: ${line}`)
    const key = line.slice(0, eq).trim()
    section.set(key, [...(section.get(key) ?? []), line.slice(eq + 1).trim()])
  }
  return unit
}

function all(unit: Unit, section: string, key: string): string[] {
  return unit.get(section)?.get(key) ?? []
}

/** A single-valued key: the last assignment wins, as in systemd. */
function one(unit: Unit, section: string, key: string): string | undefined {
  return all(unit, section, key).at(-1)
}

/** `20`, `20s` or `2min` in seconds; anything else is not expected in this unit. */
function seconds(value: string | undefined): number {
  const m = /^(\d+)\s*(s|sec|min)?$/.exec(value ?? '')
  if (m?.[1] === undefined) throw new Error(`not a simple time span: ${value}`)
  return Number(m[1]) * (m[2] === 'min' ? 60 : 1)
}

/** The VARIABLE=value lines of an EnvironmentFile (comments and blank lines skipped). */
function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {}
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const eq = line.indexOf('=')
    if (eq < 0) throw new Error(`not an assignment: ${line}`)
    env[line.slice(0, eq)] = line.slice(eq + 1)
  }
  return env
}

const unit = parseUnit(readFileSync(UNIT_FILE, 'utf8'))
const envExample = readFileSync(ENV_EXAMPLE, 'utf8')

/** Whether a program runs here at all (`args` must make it exit 0). */
function runs(program: string, args: string[]): string | null {
  const r = spawnSync(program, args, { encoding: 'utf8' })
  if (r.error !== undefined) return `${program}: ${r.error.message}`
  return r.status === 0 ? null : `${program} ${args.join(' ')} exited ${r.status}: ${r.stderr.trim()}`
}

/** `systemd-analyze`, or why not (skipped, or failed under CI). */
function requireAnalyze(t: SkippableContext): boolean {
  const reason = runs('systemd-analyze', ['--version'])
  if (reason !== null) skipOrFail('systemd-analyze (Debian package systemd)', reason, t)
  return reason === null
}

/** The unit as installed into this checkout instead of /opt/meshcast, in a temp folder. */
function installedCopy(dir: string, text = readFileSync(UNIT_FILE, 'utf8')): string {
  const path = join(dir, 'meshcast.service')
  writeFileSync(path, text.replaceAll(INSTALL_DIR, ROOT))
  return path
}

function tempDir(t: TestContext, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** Lines `systemd-analyze verify` says about this unit file (it exits 0 on warnings). */
function verifyComplaints(path: string): string[] {
  const r = spawnSync('systemd-analyze', ['verify', '--man=no', path], { encoding: 'utf8' })
  const lines = `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => l.trim() !== '')
  // other units it loads (network-online.target...) may draw remarks of their own on some systems
  const ours = lines.filter((l) => l.startsWith(path) || l.startsWith('meshcast.service'))
  return r.status === 0 ? ours : [`exit ${r.status}`, ...lines]
}

describe('the systemd unit, offline', () => {
  test('systemd-analyze verify accepts it without a single remark (and does remark on a misspelt key)', (t) => {
    if (!requireAnalyze(t)) return
    const dir = tempDir(t, 'meshcast-unit-')
    assert.deepEqual(verifyComplaints(installedCopy(dir)), [])
    // verify exits 0 on unknown keys and bad values: only its output tells, so show that it does
    const typo = installedCopy(dir, readFileSync(UNIT_FILE, 'utf8').replace('KillMode=', 'KilMode='))
    assert.ok(
      verifyComplaints(typo).some((l) => l.includes('KilMode')),
      'a misspelt key is reported',
    )
  })

  test(`systemd-analyze security --offline rates its exposure ${MAX_EXPOSURE} or better`, (t) => {
    if (!requireAnalyze(t)) return
    const copy = installedCopy(tempDir(t, 'meshcast-unit-'))
    const r = spawnSync('systemd-analyze', ['security', '--offline=yes', copy], { encoding: 'utf8' })
    const m = /Overall exposure level for meshcast\.service: ([\d.]+)/.exec(r.stdout)
    if (m?.[1] === undefined) {
      skipOrFail('systemd-analyze security --offline (systemd 250 or newer)', r.stderr.trim(), t)
      return
    }
    assert.ok(Number(m[1]) <= MAX_EXPOSURE, `exposure ${m[1]}:\n${r.stdout}`)
  })

  test("TimeoutStopSec outlasts the daemon's own stop deadline (shutdown.drain + 10 s) with a margin", () => {
    const stopS = seconds(one(unit, 'Service', 'TimeoutStopSec'))
    const deadlineS = DEFAULT_SHUTDOWN.drainSeconds + STOP_TIMEOUT_MS / 1000
    assert.ok(stopS >= deadlineS + EXIT_MARGIN_S, `TimeoutStopSec ${stopS} < ${deadlineS} + ${EXIT_MARGIN_S}`)
    // the example env file's drain must fit too
    const drain = Number(parseEnvFile(envExample).MESHCAST_SHUTDOWN_DRAIN ?? DEFAULT_SHUTDOWN.drainSeconds)
    assert.ok(
      stopS >= drain + STOP_TIMEOUT_MS / 1000 + EXIT_MARGIN_S,
      `drain ${drain} needs a longer TimeoutStopSec`,
    )
  })

  test('it stops Node alone with SIGTERM, restarts a failure a few times only, allows the JIT and no capability', () => {
    assert.equal(one(unit, 'Service', 'KillSignal'), 'SIGTERM')
    assert.equal(one(unit, 'Service', 'KillMode'), 'mixed')
    assert.equal(one(unit, 'Service', 'Type'), 'exec')
    assert.equal(one(unit, 'Service', 'Restart'), 'on-failure')
    assert.ok(Number(one(unit, 'Unit', 'StartLimitBurst')) > 0, 'a failing start gives up')
    assert.ok(Number(one(unit, 'Service', 'LimitNOFILE')) >= 65536)
    // V8 writes machine code and runs it: MemoryDenyWriteExecute=yes would kill Node at start
    assert.ok(!['yes', 'true', '1', 'on'].includes(one(unit, 'Service', 'MemoryDenyWriteExecute') ?? 'no'))
    assert.deepEqual(all(unit, 'Service', 'CapabilityBoundingSet'), [''])
  })

  test('a broken config exits 1 like a crash, so the unit sets no RestartPreventExitStatus', (t) => {
    const inst = install(tempDir(t, 'meshcast-badconf-'))
    // cut short, as an editor crash leaves it (a bad value could be set right by the env file)
    writeFileSync(join(inst.conf, 'cluster.xml'), clusterXml({}).slice(0, 200))
    // contained all the same, should it start: one loopback address, no mDNS
    const env = serviceEnvironment(inst, machineLines(inst, loopbackSubnet()(0)))
    const [file = '', ...args] = execStart(env)
    const broken = spawnSync(file, args, { cwd: ROOT, env, encoding: 'utf8', timeout: 20_000 })
    assert.equal(broken.status, 1, broken.stderr)
    assert.match(broken.stderr, /cluster\.xml/)
    const crash = spawnSync(process.execPath, ['-e', 'throw new Error("a bug")'], { encoding: 'utf8' })
    assert.equal(crash.status, broken.status, 'an uncaught error exits with the same code')
    // preventing restarts on 1 would stop restarting crashes too; StartLimitBurst ends a config loop
    assert.deepEqual(all(unit, 'Service', 'RestartPreventExitStatus'), [])
  })

  test('ExecStart runs the launcher that execs Node, and the env example names only variables meshcast reads', () => {
    const [file] = (one(unit, 'Service', 'ExecStart') ?? '').split(/\s+/)
    assert.equal(file, `${INSTALL_DIR}/packages/node/bin/meshcast`)
    assert.ok(statSync(join(ROOT, 'packages/node/bin/meshcast')).mode & 0o111, 'the launcher is executable')
    const named = [...envExample.matchAll(/^#?(MESHCAST_[A-Z0-9_]+)=/gm)].map((m) => m[1] ?? '')
    assert.ok(named.length > 10)
    for (const name of named) assert.ok(ENV_VARIABLES.includes(name), `${name} is not a meshcast variable`)
    // ExecStart passes --log-format json: a flag wins over the variable, so offering it would mislead
    assert.ok(!named.includes('MESHCAST_LOG_FORMAT'))
    assert.ok(!named.includes('MESHCAST_PASSWORD'), 'the password comes from the credential')
  })
})

/** What systemd would set up for the service under `dir`: the %d and %C folders. */
interface Install {
  root: string
  conf: string
  credentials: string
  cacheRoot: string
  /** the CacheDirectory=, NODE_COMPILE_CACHE's folder */
  cache: string
}

/** A conf folder, the password credential and the cache directory under `dir`; the last two owned by `uid` when given. */
function install(dir: string, uid?: number): Install {
  const inst: Install = {
    root: dir,
    conf: join(dir, 'conf'),
    credentials: join(dir, 'credentials'),
    cacheRoot: join(dir, 'cache'),
    cache: join(dir, 'cache', 'meshcast'),
  }
  for (const d of [inst.conf, inst.credentials, inst.cache]) mkdirSync(d, { recursive: true })
  // as shipped: the password in cluster.xml is the placeholder, the real one is the credential
  writeFileSync(join(inst.conf, 'cluster.xml'), clusterXml({ password: 'changeme' }))
  writeFileSync(join(inst.credentials, 'password'), `${uniquePassword()}\n`, { mode: 0o400 })
  if (uid !== undefined) {
    // the conf readable by anyone, as the README asks; credential and cache the service's own, as systemd makes them
    for (const d of [dir, inst.conf, inst.cacheRoot]) chmodSync(d, 0o755)
    for (const p of [inst.credentials, join(inst.credentials, 'password'), inst.cache]) chownSync(p, uid, uid)
  }
  return inst
}

/** The environment PID 1 gives the service: its own variables, then Environment=, then the EnvironmentFile. */
function serviceEnvironment(inst: Install, fileLines: Record<string, string> = {}): Record<string, string> {
  const specifiers: Record<string, string> = { d: inst.credentials, C: inst.cacheRoot, '%': '%' }
  const env: Record<string, string> = {
    PATH: SYSTEMD_PATH,
    HOME: '/',
    CREDENTIALS_DIRECTORY: inst.credentials,
    CACHE_DIRECTORY: inst.cache,
  }
  for (const assignment of all(unit, 'Service', 'Environment')) {
    const eq = assignment.indexOf('=')
    env[assignment.slice(0, eq)] = assignment.slice(eq + 1).replace(/%(.)/g, (_, s: string) => {
      const value = specifiers[s]
      if (value === undefined) throw new Error(`specifier %${s} in Environment= is not emulated here`)
      return value
    })
  }
  return { ...env, ...parseEnvFile(envExample), ...fileLines }
}

/** ExecStart= as systemd splits and expands it, the install folder being this checkout. */
function execStart(env: Record<string, string>): string[] {
  const line = one(unit, 'Service', 'ExecStart') ?? ''
  assert.ok(!/["'\\]/.test(line), 'the test splits ExecStart on spaces: no quoting in it')
  return line
    .split(/\s+/)
    .map((word) =>
      word.replaceAll(INSTALL_DIR, ROOT).replace(/\$\{(\w+)\}/g, (_, name: string) => env[name] ?? ''),
    )
}

/** What /etc/meshcast/meshcast.env adds on this machine: one loopback address, no mDNS (no other test's cluster). */
function machineLines(inst: Install, host: string): Record<string, string> {
  return {
    MESHCAST_CONF: inst.conf,
    MESHCAST_HTTP_HOST: host,
    MESHCAST_RTMP_HOST: host,
    MESHCAST_MESH_HOST: host,
    MESHCAST_PUBLIC_IP: host,
    MESHCAST_MESH_MDNS: 'false',
  }
}

/** `env -i` first: the service sees only what systemd gives it, not this test's environment. */
function serviceCommand(inst: Install, host: string): string[] {
  const env = serviceEnvironment(inst, machineLines(inst, host))
  return ['env', '-i', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...execStart(env)]
}

/** The longest mount point holding `path` (from /proc/self/mountinfo). */
function mountOf(path: string): string {
  const real = realpathSync(path)
  const points = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) =>
      (l.split(' ')[4] ?? '').replace(/\\(\d{3})/g, (_, o: string) =>
        String.fromCharCode(Number.parseInt(o, 8)),
      ),
    )
  const holding = points.filter((p) => p !== '' && (p === '/' || real === p || real.startsWith(`${p}/`)))
  return holding.sort((a, b) => b.length - a.length)[0] ?? '/'
}

function quote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`
}

/**
 * DynamicUser=, CapabilityBoundingSet=, NoNewPrivileges= and ProtectSystem=strict, roughly: a
 * mount namespace with the cache folder bound writable and the mounts of /, the checkout and the
 * temp folder remounted read-only (stricter than PrivateTmp=), then an unused uid with no
 * capabilities and no_new_privs. Every step execs, so the pid stays the one spawned.
 */
function sandboxed(inst: Install, uid: number, command: string[]): string[] {
  const mounts = [...new Set(['/', mountOf(ROOT), mountOf(tmpdir())])]
  const script = [
    'set -e',
    `mount --bind ${quote(inst.cache)} ${quote(inst.cache)}`,
    ...mounts.map((m) => `mount -o remount,bind,ro ${quote(m)}`),
    // a sandbox that is not one would pass for nothing: refuse to start
    `if (: > ${quote(join(inst.root, 'probe'))}) 2>/dev/null; then echo 'sandbox: still writable' >&2; exit 1; fi`,
    'exec "$@"',
  ].join('\n')
  const drop = [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--no-new-privs']
  drop.push('--bounding-set=-all', '--inh-caps=-all', '--ambient-caps=-all')
  return ['unshare', '--mount', '--', 'sh', '-c', script, 'sandbox', 'setpriv', ...drop, '--', ...command]
}

/** Why the sandbox cannot be built here, or null. */
function sandboxMissing(): string | null {
  if (process.getuid?.() !== 0) return 'not root: no mount namespace or uid change'
  return runs('unshare', ['--mount', '--', 'true']) ?? runs('setpriv', ['--no-new-privs', '--', 'true'])
}

/** The pids whose parent is `pid`. */
function childrenOf(pid: number): number[] {
  const out: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(entry))
    } catch {
      // it exited while we looked
    }
  }
  return out
}

function isNode(pid: number): boolean {
  try {
    return realpathSync(readlinkSync(`/proc/${pid}/exe`)) === realpathSync(process.execPath)
  } catch {
    return false
  }
}

function statusField(pid: number, field: string): string | undefined {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${field}:`))
  return line?.slice(field.length + 1).trim()
}

/** Probes, metrics, and a stream published over RTMP and played back: the daemon's main roads. */
async function exercise(node: NodeProcess): Promise<void> {
  assert.equal((await node.httpGet('/readyz')).status, 200)
  assert.equal((await node.httpGet('/metrics')).status, 200)
  const url = `${node.rtmpUrl}/live/systemd`
  const publisher = await publish(url, { size: '320x180' })
  try {
    await waitFor(
      async () => ((await play(url, { frames: 10, timeout: 10_000 })).frames.length >= 10 ? true : undefined),
      { timeout: 40_000, what: 'ten frames played back from the node' },
    )
  } finally {
    await publisher.stop()
  }
}

/** Sends the unit's KillSignal to `pid`, checks a clean exit within TimeoutStopSec; resolves with the ms it took. */
async function stopAsSystemd(node: NodeProcess, pid: number): Promise<number> {
  const limitMs = seconds(one(unit, 'Service', 'TimeoutStopSec')) * 1000
  const signal = one(unit, 'Service', 'KillSignal') as NodeJS.Signals
  const started = performance.now()
  process.kill(pid, signal)
  const exit = await Promise.race([
    node.exited,
    new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), limitMs).unref()),
  ])
  assert.deepEqual(exit, { code: 0, signal: null }, `not out within TimeoutStopSec (${limitMs} ms)`)
  const ms = Math.round(performance.now() - started)
  assert.ok(ms < limitMs)
  assert.equal(node.records().find((r) => r.message === 'stopping')?.reason, signal)
  assert.ok(node.records().some((r) => r.message === 'stopped'))
  return ms
}

/** Runs `body` with the service command started; it is killed at the end whatever happens, its log shown on failure. */
async function withService(
  t: TestContext,
  name: string,
  host: string,
  argv: string[],
  body: (node: NodeProcess) => Promise<void>,
): Promise<void> {
  const node = new NodeProcess({ name, conf: '', host, cwd: ROOT, wrap: () => argv })
  t.after(async () => {
    const pid = node.child.pid
    // a traced Node is the tracer's child: end it first
    if (node.exit === null && pid !== undefined) for (const c of childrenOf(pid)) process.kill(c, 'SIGKILL')
    await node.stop()
  })
  try {
    await body(node)
  } catch (err) {
    t.diagnostic(node.log())
    throw err
  }
}

describe('the daemon as the unit starts it', () => {
  for (const sandbox of [false, true]) {
    const how = sandbox
      ? 'as an unprivileged uid with no capabilities on a read-only system'
      : 'in its environment'
    test(`${how}: the pid is Node, it serves, and SIGTERM stops it with exit 0 within TimeoutStopSec`, async (t) => {
      const missing = sandbox ? sandboxMissing() : null
      if (missing !== null) {
        skipOrFail('root, unshare and setpriv (the sandbox)', missing, t)
        return
      }
      // DynamicUser= picks from 61184-65519; one nobody here owns
      const uid = sandbox ? 61184 + randomInt(0, 4000) : undefined
      const inst = install(tempDir(t, 'meshcast-service-'), uid)
      const host = loopbackSubnet()(0)
      const command = serviceCommand(inst, host)
      const argv = uid === undefined ? command : sandboxed(inst, uid, command)
      await withService(t, sandbox ? 'unit-sandboxed' : 'unit', host, argv, async (node) => {
        await node.ready(30_000)
        const pid = node.child.pid ?? -1
        assert.ok(isNode(pid), 'the pid systemd holds (the one spawned) is Node itself')
        if (uid !== undefined) {
          assert.equal(statusField(pid, 'Uid')?.split(/\s+/)[0], String(uid))
          assert.equal(statusField(pid, 'CapBnd'), '0000000000000000')
          assert.equal(statusField(pid, 'NoNewPrivs'), '1')
        }
        await exercise(node)
        t.diagnostic(`stopped ${await stopAsSystemd(node, pid)} ms after SIGTERM`)
        assert.deepEqual(
          node.records().filter((r) => r.level === 'error'),
          [],
        )
        assert.ok(readdirSync(inst.cache).length > 0, 'Node kept its compile cache in the CacheDirectory')
      })
    })
  }

  test('every system call and socket family it uses is allowed by SystemCallFilter and RestrictAddressFamilies', async (t) => {
    const missing = runs('strace', ['-f', '-qq', '-o', '/dev/null', 'true'])
    if (missing !== null) {
      skipOrFail('strace (Debian package strace)', missing, t)
      return
    }
    if (!requireAnalyze(t)) return
    const inst = install(tempDir(t, 'meshcast-strace-'))
    const trace = join(inst.root, 'trace')
    const host = loopbackSubnet()(0)
    const argv = ['strace', '-f', '-qq', '-o', trace, ...serviceCommand(inst, host)]
    await withService(t, 'unit-traced', host, argv, async (node) => {
      await node.ready(60_000)
      const tracer = node.child.pid ?? -1
      const pid = await waitFor(() => childrenOf(tracer).find(isNode), { what: 'the traced Node' })
      await exercise(node)
      t.diagnostic(`stopped ${await stopAsSystemd(node, pid)} ms after SIGTERM`)
    })
    const text = readFileSync(trace, 'utf8')
    // the launcher's calls count too: the filter holds from the exec of ExecStart on
    const used = new Set([...text.matchAll(/^\d+\s+([a-z0-9_]+)\(/gm)].map((m) => m[1] ?? ''))
    const allowed = filterAllows(all(unit, 'Service', 'SystemCallFilter'))
    assert.deepEqual(
      [...used].filter((s) => !allowed.has(s)),
      [],
      'system calls the filter refuses',
    )
    const families = new Set([...text.matchAll(/\bsocket\((AF_[A-Z0-9]+)/g)].map((m) => m[1] ?? ''))
    const permitted = (one(unit, 'Service', 'RestrictAddressFamilies') ?? '').split(/\s+/)
    assert.deepEqual(
      [...families].filter((f) => !permitted.includes(f)),
      [],
      'socket families RestrictAddressFamilies refuses',
    )
  })
})

/** Every system call a `@group` (or a name) stands for, nested groups expanded, from systemd-analyze itself. */
function expand(item: string, seen = new Set<string>()): string[] {
  if (!item.startsWith('@')) return [item]
  if (seen.has(item)) return []
  seen.add(item)
  const r = spawnSync('systemd-analyze', ['syscall-filter', item], { encoding: 'utf8' })
  assert.equal(r.status, 0, r.stderr)
  const names = r.stdout
    .split('\n')
    .slice(1)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
  return names.flatMap((n) => expand(n, seen))
}

/** What SystemCallFilter= lines allow: the allow lists' calls less those of the `~` lines. */
function filterAllows(lines: string[]): Set<string> {
  const allow = new Set<string>()
  const deny = new Set<string>()
  for (const line of lines) {
    const into = line.startsWith('~') ? deny : allow
    for (const item of line.replace(/^~/, '').split(/\s+/)) for (const s of expand(item)) into.add(s)
  }
  return new Set([...allow].filter((s) => !deny.has(s)))
}
