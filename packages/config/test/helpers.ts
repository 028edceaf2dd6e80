import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import { ConfigError, type ConfigProblem } from '@meshcast/interface'

/** The repository's conf folder. */
export const REPO_CONF = join(import.meta.dirname, '../../../conf')

/** The problems of the ConfigError that `fn` throws; fails on anything else. */
export function problemsOf(fn: () => unknown): readonly ConfigProblem[] {
  try {
    fn()
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`)
    return err.problems
  }
  return assert.fail('expected a ConfigError, but nothing was thrown')
}

/** The single problem of the ConfigError that `fn` throws. */
export function onlyProblem(fn: () => unknown): ConfigProblem {
  const problems = problemsOf(fn)
  assert.equal(problems.length, 1, `expected one problem, got:\n${JSON.stringify(problems, null, 2)}`)
  return problems[0] as ConfigProblem
}

/** What a problem should say: its place exactly, its message by pattern. */
export type ExpectedProblem = Omit<ConfigProblem, 'message'> & { message: RegExp }

export function assertProblem(problem: ConfigProblem | undefined, expected: ExpectedProblem): void {
  assert.ok(problem, 'expected a problem')
  const { message, ...place } = expected
  const actual = { file: problem.file, line: problem.line, property: problem.property, value: problem.value }
  assert.deepEqual(actual, { line: undefined, property: undefined, value: undefined, ...place })
  assert.match(problem.message, message)
}

/** A temporary conf folder holding `files` (name to text; a null text makes a sub-folder), removed after the test. */
export function makeConfDir(t: TestContext, files: Record<string, string | null>): string {
  const dir = mkdtempSync(join(tmpdir(), 'meshcast-config-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  for (const [name, text] of Object.entries(files)) {
    if (text === null) mkdirSync(join(dir, name))
    else writeFileSync(join(dir, name), text)
  }
  return dir
}

/** A bare clusterConfig bean holding `lines`, one per line: the bean is line 1, the first property line 2. */
export function beanXml(...lines: string[]): string {
  return [
    '<bean name="clusterConfig" class="com.red5pro.cluster.ClusterConfiguration">',
    ...lines.map((line) => `  ${line}`),
    '</bean>',
    '',
  ].join('\n')
}

/** `<property name=".." value=".."/>` */
export function prop(name: string, value: string): string {
  return `<property name="${name}" value="${value}" />`
}
