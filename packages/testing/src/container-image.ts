import { execFile, spawn } from 'node:child_process'
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
} from 'node:fs'
import { cp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** The repository root (the build context of the Containerfile). */
export const REPO_ROOT = join(import.meta.dirname, '../../..')

/** Where the tests' Debian base comes from: the mirror this machine's apt already uses. */
const DEBIAN_MIRROR = 'http://deb.debian.org/debian'
const MINBASE_IMAGE = 'meshcast-test/bookworm:minbase'

/** Local CA certificates (a TLS-intercepting proxy's) that npm inside a build must trust too. */
const LOCAL_CA_DIR = '/usr/local/share/ca-certificates'

const MAX_BUFFER = 64 * 1024 * 1024

/** Marks the images the tests build, so a rebuild can remove the one it replaced. */
const TEST_IMAGE_LABEL = 'meshcast.test-image=1'

/** Runs `docker …`, with `input` on its stdin; throws with docker's own words on failure. */
export async function docker(args: string[], opts: { input?: string } = {}): Promise<string> {
  return await new Promise<string>((resolve, reject) => {
    const child = execFile('docker', args, { maxBuffer: MAX_BUFFER }, (err, stdout, stderr) => {
      if (err === null) resolve(stdout)
      else reject(new Error(`docker ${args.join(' ')}: ${stderr.trim() || err.message}`))
    })
    child.stdin?.end(opts.input)
  })
}

/** Why containers cannot run here, or null when a Docker engine answers (started here if need be). */
export async function dockerMissing(): Promise<string | null> {
  if (await engineAnswers()) return null
  if (!existsSync('/usr/sbin/dockerd') && !existsSync('/usr/bin/dockerd')) {
    return 'no Docker engine: install docker.io (apt-get install docker.io)'
  }
  if (process.getuid?.() !== 0) return 'dockerd is not running and only root may start it'
  startDockerd()
  for (let i = 0; i < 120; i++) {
    if (await engineAnswers()) return null
    await new Promise((r) => setTimeout(r, 250))
  }
  return 'dockerd was started but did not answer within 30 s (see /tmp/meshcast-dockerd.log)'
}

async function engineAnswers(): Promise<boolean> {
  try {
    await run('docker', ['info', '--format', '{{.ServerVersion}}'], { timeout: 10_000 })
    return true
  } catch {
    return false
  }
}

/**
 * No init system runs here: start dockerd by hand, in its own session so
 * it outlives the test process (later tests and runs reuse it).
 */
function startDockerd(): void {
  const log = openSync('/tmp/meshcast-dockerd.log', 'a')
  const child = spawn('dockerd', [], { detached: true, stdio: ['ignore', log, log] })
  child.unref()
  closeSync(log)
}

async function imageExists(tag: string): Promise<boolean> {
  try {
    await docker(['image', 'inspect', tag])
    return true
  } catch {
    return false
  }
}

/** Says what a long step is doing, for whoever watches the run. */
function progress(line: string): void {
  process.stderr.write(`# image: ${line}\n`)
}

/** The npm `node` package's real binary and its version (the root devDependency). */
function nodeBinary(): { path: string; version: string } {
  const path = realpathSync(join(REPO_ROOT, 'node_modules/node/bin/node'))
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules/node/package.json'), 'utf8')) as {
    version: string
  }
  return { path, version: pkg.version }
}

/** npm's own folder, from the `npm` on PATH (pure JavaScript: it runs on any Node). */
async function npmFolder(): Promise<string> {
  const { stdout } = await run('sh', ['-c', 'command -v npm'])
  // …/lib/node_modules/npm/bin/npm-cli.js → …/lib/node_modules/npm
  return dirname(dirname(realpathSync(stdout.trim())))
}

/** Debian bookworm, minbase, from debootstrap, imported as an image (about 40 s, once per machine). */
async function ensureMinbase(): Promise<void> {
  if (await imageExists(MINBASE_IMAGE)) return
  const dir = mkdtempSync(join(tmpdir(), 'meshcast-debootstrap-'))
  try {
    progress(`debootstrap --variant=minbase bookworm (about 40 s) into ${dir}`)
    await run('debootstrap', ['--variant=minbase', 'bookworm', join(dir, 'root'), DEBIAN_MIRROR], {
      maxBuffer: MAX_BUFFER,
    })
    progress(`docker import ${MINBASE_IMAGE}`)
    await run('sh', ['-c', `tar -C "${join(dir, 'root')}" -c . | docker import - ${MINBASE_IMAGE}`], {
      maxBuffer: MAX_BUFFER,
    })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * A stand-in for the official Node image, made here with nothing from a
 * registry of images: Debian minbase plus the npm `node` package's binary
 * and npm, where the official image keeps them (/usr/local). Its tag names
 * the Node version.
 */
export async function ensureNodeBase(): Promise<string> {
  const node = nodeBinary()
  const tag = `meshcast-test/node:${node.version}`
  if (await imageExists(tag)) return tag
  await ensureMinbase()
  const context = mkdtempSync(join(tmpdir(), 'meshcast-node-base-'))
  try {
    await cp(node.path, join(context, 'node'))
    await cp(await npmFolder(), join(context, 'npm'), { recursive: true })
    await writeFile(
      join(context, 'Dockerfile'),
      [
        `FROM ${MINBASE_IMAGE}`,
        'COPY node /usr/local/bin/node',
        'COPY npm /usr/local/lib/node_modules/npm',
        'RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\',
        ' && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx',
        '',
      ].join('\n'),
    )
    progress(`docker build ${tag}`)
    await docker(['build', '-q', '--force-rm', '-t', tag, context])
  } finally {
    rmSync(context, { recursive: true, force: true })
  }
  return tag
}

/** The PEM text of this machine's local CAs, for the Containerfile's EXTRA_CA_CERTS; '' when none. */
export function localCaText(): string {
  if (!existsSync(LOCAL_CA_DIR)) return ''
  const files = readdirSync(LOCAL_CA_DIR, { recursive: true, encoding: 'utf8' }).filter((f) =>
    f.endsWith('.crt'),
  )
  return files.map((f) => readFileSync(join(LOCAL_CA_DIR, f), 'utf8').trim()).join('\n')
}

/**
 * Builds the repository's Containerfile on the local Node base as `tag`
 * (docker's layer cache makes a rebuild with unchanged manifests quick).
 */
export async function buildMeshcastImage(tag: string): Promise<void> {
  const base = await ensureNodeBase()
  progress(`docker build -f Containerfile --build-arg BASE=${base} -t ${tag} (the install fetches from npm)`)
  const args = [
    'build',
    '-q',
    '--force-rm',
    '-f',
    join(REPO_ROOT, 'Containerfile'),
    '--build-arg',
    `BASE=${base}`,
  ]
  const ca = localCaText()
  if (ca !== '') args.push('--build-arg', `EXTRA_CA_CERTS=${ca}`)
  await docker([...args, '--label', TEST_IMAGE_LABEL, '-t', tag, REPO_ROOT])
  // the image this build replaced lost its tag: drop it, or every run leaves one behind
  await docker(['image', 'prune', '-f', '--filter', `label=${TEST_IMAGE_LABEL}`])
}
