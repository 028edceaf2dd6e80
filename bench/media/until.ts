import { waitFor } from '@meshcast/testing'

/** Polls `fn` every 25 ms until it is truthy (the benchmark's waits are on its critical path: a short poll). */
export async function until(
  what: string,
  fn: () => Promise<unknown> | unknown,
  timeout = 15_000,
): Promise<void> {
  await waitFor(async () => ((await fn()) ? true : undefined), { timeout, interval: 25, what })
}
