import type { ChildProcess } from 'node:child_process'
import type { Exit } from './node-process.ts'

/** How long after its exit a child's output may still be arriving before we stop waiting for it. */
export const OUTPUT_AFTER_EXIT_MS = 2000

/**
 * Resolves once the child exited and its output has been read ('close'): 'exit' can come
 * before the last of its stdout and stderr (Node's docs), and a test reading what it printed
 * then would miss it. Bounded after 'exit', as a grandchild may hold the pipes open.
 */
export function childEnded(child: ChildProcess): Promise<Exit> {
  return new Promise((resolve) => {
    let bound: NodeJS.Timeout | undefined
    child.once('close', (code, signal) => {
      clearTimeout(bound)
      resolve({ code, signal })
    })
    child.once('exit', (code, signal) => {
      bound = setTimeout(() => resolve({ code, signal }), OUTPUT_AFTER_EXIT_MS)
      bound.unref()
    })
  })
}
