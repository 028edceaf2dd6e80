/**
 * Names on the cluster bus: channels, invocation handlers and state names
 * are 1-128 of `A-Z a-z 0-9 _ . : / -`; a method called is
 * `handler.method`, the method 1-128 of `A-Z a-z 0-9 _ $`. Checked where a
 * name is given (the apps' bus, the mesh's API) and where it arrives (wire frames).
 */
const NAME = /^[A-Za-z0-9_.:/-]{1,128}$/
const METHOD = /^([A-Za-z0-9_.:/-]{1,128})\.([A-Za-z0-9_$]{1,128})$/

/** A channel, handler or state name. */
export function isBusName(name: string): boolean {
  return NAME.test(name)
}

/** `handler.method` split at its last dot; null when it is not of that shape. */
export function parseMethodName(text: string): { handler: string; method: string } | null {
  const m = METHOD.exec(text)
  return m === null ? null : { handler: m[1] as string, method: m[2] as string }
}
