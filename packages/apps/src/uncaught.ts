import type { AppHost } from './app-host.ts'

/**
 * Catches uncaught exceptions and unhandled rejections: those raised by an
 * application's code fail that application only. Any other keeps Node's
 * own behaviour: these listeners go away and the error is thrown again, so
 * the process prints it and exits 1 as it would have. Returns the uninstall.
 */
export function catchApplicationErrors(host: AppHost): () => void {
  const onError = (err: unknown) => {
    if (host.claim(err)) return
    uninstall()
    process.nextTick(() => {
      throw err
    })
  }
  const uninstall = () => {
    process.off('uncaughtException', onError)
    process.off('unhandledRejection', onError)
  }
  process.on('uncaughtException', onError)
  process.on('unhandledRejection', onError)
  return uninstall
}
