// First step of `pnpm test`: fail early and clearly when the runtime or a
// tool the tests need is missing, instead of a confusing failure later.
// Nothing is skipped: every test runs, in CI and locally.
import { spawnSync } from 'node:child_process'
import { ffmpegPath } from '@meshcast/node/ffmpeg'

const MIN_NODE_MAJOR = 22
const problems: string[] = []

const major = Number(process.versions.node.split('.')[0])
if (major < MIN_NODE_MAJOR) {
  problems.push(
    `Node ${process.versions.node} runs the tests; meshcast needs >= ${MIN_NODE_MAJOR}. ` +
      'Run through pnpm (npx -y pnpm@10 test), which puts the workspace Node 24 first on PATH.',
  )
}

const ffmpeg = ffmpegPath()
const probe = spawnSync(ffmpeg, ['-hide_banner', '-version'], { encoding: 'utf8' })
if (probe.status !== 0) {
  problems.push(`ffmpeg (${ffmpeg}) does not run: ${probe.error?.message ?? probe.stderr}`)
}

if (problems.length > 0) {
  for (const p of problems) console.error(`check-runtime: ${p}`)
  process.exit(1)
}
console.log(`check-runtime: node ${process.versions.node}, ${probe.stdout.split('\n')[0]}`)
