import { ENV_PREFIX, ENV_VARIABLES } from '@meshcast/config'

/**
 * The environment a node under test gets: this process's, less the
 * harness's own `MESHCAST_*` paths (MESHCAST_NGINX, MESHCAST_VLC…), which a
 * node would warn about as unknown variables; then `extra` on top.
 */
export function nodeEnvironment(extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith(ENV_PREFIX) || ENV_VARIABLES.includes(name)) env[name] = value
  }
  return { ...env, ...extra }
}
