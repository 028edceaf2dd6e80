// The ffmpeg children and temp folders this benchmark makes, SIGKILLed and
// removed when it exits however it exits (Ctrl-C, an error): a benchmark
// that dies must not leave publishers streaming on a shared box.
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const spawned = new Set<ChildProcess>()
const tempDirs = new Set<string>()
let hooked = false

/** The exit hook goes in with the first child or folder, not at import. */
function cleanUpOnExit(): void {
  if (hooked) return
  hooked = true
  process.once('exit', () => {
    for (const child of spawned) child.kill('SIGKILL')
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true })
  })
}

export function track(child: ChildProcess): ChildProcess {
  cleanUpOnExit()
  spawned.add(child)
  child.once('exit', () => spawned.delete(child))
  return child
}

export function tempDir(prefix: string): string {
  cleanUpOnExit()
  const dir = mkdtempSync(join(tmpdir(), prefix))
  tempDirs.add(dir)
  return dir
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true })
  tempDirs.delete(dir)
}
