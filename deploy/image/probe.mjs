// The image's health check: GET http://127.0.0.1:<http port><path> (default /readyz), exit 0 on
// a 2xx, 1 otherwise. Plain JavaScript with no imports, so a check costs one small Node start.
const path = process.argv[2] ?? '/readyz'
const port = process.env.MESHCAST_HTTP_PORT || '5080'
const timeout = AbortSignal.timeout(2500)
fetch(`http://127.0.0.1:${port}${path}`, { signal: timeout }).then(
  (res) => process.exit(res.ok ? 0 : 1),
  () => process.exit(1),
)
