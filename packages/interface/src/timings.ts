// Defaults that more than one package applies: the config reads them for conf files that leave
// the setting out, and each library falls back to the same figure when used on its own.

/** cluster.xml `retryDuration` (Red5 Pro's default, 30 s): between tries at an unreached origin or seed, and the longest wait between re-pulls. */
export const RETRY_DURATION_MS = 30_000

/** red5.properties `edge.stall` (2 s): no audio or video from a pulled upstream for this long and it counts as lost. */
export const EDGE_STALL_MS = 2000
