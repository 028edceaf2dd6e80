import module from 'node:module'
import v8 from 'node:v8'
import vm from 'node:vm'
import type { Logger } from '@meshcast/interface'

/**
 * ms after `ready` for the cache write and the one full collection:
 * start-up's garbage is garbage by then, and a cluster forming around the
 * node has had the CPU first. At 1 s, 20 nodes starting at once on 2 cores
 * collected in the middle of forming their view: one view of 20 took
 * 1.5-2.2 s after the last node was up, 1.3-1.8 s at 3 s (measured). Not
 * later: V8 gives the young generation back about 8 s after this
 * collection, so an idle edge is at its ~104-105 MiB from ~12 s after ready.
 */
export const TRIM_AFTER_MS = 3000

/** The debug line logged once the cache is written and the collection done. */
export const TRIMMED_LINE = 'start-up memory trimmed'

/**
 * Called once a node is ready (by `meshcast start`, not by the Daemon class,
 * which tests also run in their own processes):
 * - writes the compile cache, so a node that is later killed still starts
 *   warm next time (Node writes it only at a clean exit);
 * - one full garbage collection. Start-up leaves V8's young
 *   generation grown to about 32 MB, and V8 gives it back only after about
 *   100 s of idle: the node sat at ~130-160 MB instead of ~100 MB (measured).
 *   `--expose-gc` can be turned on at run time; the function is taken from a
 *   fresh context, as it is only bound in contexts made after the flag.
 */
export function trimMemoryAfterStart(logger: Logger): void {
  // both block the event loop for a moment (writing ~1,200 cached modules, a full GC): not
  // while the first clients and peers arrive
  setTimeout(() => {
    module.flushCompileCache?.()
    v8.setFlagsFromString('--expose-gc')
    const gc = vm.runInNewContext('gc') as () => void
    const began = Date.now()
    gc()
    // tests wait for this line rather than for the timer: the pause is start-up's, not a load's
    logger.debug(TRIMMED_LINE, {
      ms: Date.now() - began,
      rssMiB: Math.round(process.memoryUsage.rss() / 2 ** 20),
      // the type stripper, once loaded, stays (bin/meshcast.js warms a cold cache to avoid it)
      stripper: (process as unknown as { moduleLoadList: string[] }).moduleLoadList.some((m) =>
        m.endsWith('internal/deps/amaro/dist/index'),
      ),
    })
  }, TRIM_AFTER_MS).unref()
}
