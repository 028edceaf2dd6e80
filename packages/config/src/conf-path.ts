import { dirname, isAbsolute, join, resolve } from 'node:path'

/**
 * The absolute path of a file a key names: as written when absolute, else
 * from the conf folder's parent (Red5's `RED5_HOME`, so `conf/x` means the
 * conf folder's `x`); `fallback` in the conf folder when the key is not set.
 */
export function confPath(confDir: string, written: string | undefined, fallback: string): string {
  if (written === undefined) return join(confDir, fallback)
  return isAbsolute(written) ? written : resolve(dirname(confDir), written)
}
