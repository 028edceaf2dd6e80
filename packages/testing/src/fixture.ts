/** The part of node:test's TestContext the `with…` wrappers use. */
export interface CancellableContext {
  signal?: AbortSignal
}

/** What a `with…` wrapper needs to know of the thing it gives a test. */
export interface Fixture {
  /** what to print when the body fails or the test is cancelled */
  report(): string | Promise<string>
  /** stops everything the fixture started; runs once, whatever happened */
  teardown(): Promise<void>
}

/**
 * Runs a test body against a fixture: prints its report when the body fails
 * or the test is cancelled (node:test abandons a timed-out body, so the abort
 * signal is the only way to learn of it), and always tears it down.
 */
export async function guarded<T extends CancellableContext>(
  t: T,
  fixture: Fixture,
  body: () => Promise<void>,
): Promise<void> {
  const onAbort = () => {
    void Promise.resolve(fixture.report()).then((r) =>
      process.stderr.write(`\ntest cancelled; logs:\n${r}\n`),
    )
    void fixture.teardown()
  }
  t.signal?.addEventListener('abort', onAbort, { once: true })
  try {
    await body()
  } catch (err) {
    process.stderr.write(`\n${await fixture.report()}\n`)
    throw err
  } finally {
    t.signal?.removeEventListener('abort', onAbort)
    await fixture.teardown()
  }
}
