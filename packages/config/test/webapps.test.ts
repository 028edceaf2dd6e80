import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it, type TestContext } from 'node:test'
import { CLUSTER_XML, effectiveConfig, loadConfig, RED5_PROPERTIES } from '../src/index.ts'
import { assertProblem, beanXml, problemsOf, prop } from './helpers.ts'

/**
 * A Red5-layout server root, removed after the test: `conf/` (cluster.xml,
 * and red5.properties when given, as text or made from the root's path)
 * plus `paths`, each a folder, or a file when given text.
 */
function serverRoot(
  t: TestContext,
  properties: string | ((root: string) => string) | null,
  paths: Record<string, string | null> = {},
): { root: string; conf: string; properties: string } {
  const root = mkdtempSync(join(tmpdir(), 'meshcast-root-'))
  t.after(() => rmSync(root, { recursive: true, force: true }))
  const conf = join(root, 'conf')
  mkdirSync(conf)
  writeFileSync(join(conf, CLUSTER_XML), beanXml(prop('password', 'secret')))
  if (properties !== null) {
    const text = typeof properties === 'string' ? properties : properties(root)
    writeFileSync(join(conf, RED5_PROPERTIES), text)
  }
  for (const [path, text] of Object.entries(paths)) {
    const full = join(root, path)
    if (text === null) mkdirSync(full, { recursive: true })
    else {
      mkdirSync(join(full, '..'), { recursive: true })
      writeFileSync(full, text)
    }
  }
  return { root, conf, properties: join(conf, RED5_PROPERTIES) }
}

describe('applications (webapps)', () => {
  it('are the sub-folders of webapps/ beside conf/, named after them, sorted', (t) => {
    const { root, conf } = serverRoot(t, null, {
      'webapps/chatr': null,
      'webapps/admin': null,
      'webapps/.git': null,
      'webapps/README.txt': 'not an application',
    })
    const config = loadConfig(conf)
    assert.deepEqual(config.webapps, {
      dir: join(root, 'webapps'),
      apps: [
        { name: 'admin', path: join(root, 'webapps/admin'), settings: {} },
        { name: 'chatr', path: join(root, 'webapps/chatr'), settings: {} },
      ],
    })
    assert.deepEqual(config.warnings, [])
  })

  it('may be symbolic links to folders elsewhere', (t) => {
    const { root, conf } = serverRoot(t, null, { webapps: null, 'src/chat': null })
    symlinkSync(join(root, 'src/chat'), join(root, 'webapps/chatr'))
    assert.deepEqual(loadConfig(conf).webapps.apps, [
      { name: 'chatr', path: join(root, 'webapps/chatr'), settings: {} },
    ])
  })

  it('are none, quietly, when there is no webapps/ folder', (t) => {
    const { root, conf } = serverRoot(t, 'http.port=5080\n')
    const config = loadConfig(conf)
    assert.deepEqual(config.webapps, { dir: join(root, 'webapps'), apps: [] })
    assert.deepEqual(config.warnings, [])
  })

  it('can be listed one by one, relative to the server root, with their settings', (t) => {
    const { root, conf } = serverRoot(
      t,
      (root) =>
        ['app.chatr=examples/chat', 'app.chatr.history=50', 'app.chatr.rate=2.5'].join('\n') +
        `\napp.tool=${join(root, 'tools/tool.ts')}\n`,
      { 'examples/chat': null, 'tools/tool.ts': 'export default {}' },
    )
    const absolute = join(root, 'tools/tool.ts')
    const config = loadConfig(conf)
    assert.deepEqual(config.webapps.apps, [
      { name: 'chatr', path: join(root, 'examples/chat'), settings: { history: '50', rate: '2.5' } },
      { name: 'tool', path: absolute, settings: {} },
    ])
    assert.deepEqual(config.warnings, [])
  })

  it('listed by name replace a webapps folder of that name, with a warning; an empty value leaves one out', (t) => {
    const { root, conf, properties } = serverRoot(t, 'app.chatr=dev/chat\napp.old=\n', {
      'webapps/chatr': null,
      'webapps/old': null,
      'dev/chat': null,
    })
    const config = loadConfig(conf)
    assert.deepEqual(config.webapps.apps, [{ name: 'chatr', path: join(root, 'dev/chat'), settings: {} }])
    assert.deepEqual(config.warnings, [
      `${properties}:1: app.chatr replaces the folder ${join(root, 'webapps/chatr')}`,
    ])
  })

  it('come from another folder with webapps.dir, or from none with an empty webapps.dir', (t) => {
    const other = serverRoot(t, 'webapps.dir=apps\n', { 'apps/one': null, 'webapps/two': null })
    assert.deepEqual(loadConfig(other.conf).webapps, {
      dir: join(other.root, 'apps'),
      apps: [{ name: 'one', path: join(other.root, 'apps/one'), settings: {} }],
    })
    const none = serverRoot(t, 'webapps.dir=\n', { 'webapps/two': null })
    assert.deepEqual(loadConfig(none.conf).webapps, { dir: null, apps: [] })
  })

  it('show in the effective config as name=path and name.key=value', (t) => {
    const { root, conf } = serverRoot(t, 'app.chatr.history=20\n', { 'webapps/chatr': null })
    assert.deepEqual(effectiveConfig(loadConfig(conf)).webapps, {
      dir: join(root, 'webapps'),
      apps: [`chatr=${join(root, 'webapps/chatr')}`],
      settings: ['chatr.history=20'],
    })
  })
})

describe('application settings that cannot be used', () => {
  it('a webapps.dir or app path that is not there, a bad or reserved name, a nameless setting', (t) => {
    const { root, conf, properties } = serverRoot(
      t,
      ['webapps.dir=nowhere', 'app.chatr=missing/chat', 'app.bad!name=x', 'app.api=x', 'app.chatr.=1'].join(
        '\n',
      ),
    )
    const problems = problemsOf(() => loadConfig(conf))
    assert.equal(problems.length, 5, JSON.stringify(problems, null, 2))
    const byProperty = (p: string) => problems.find((x) => x.property === p)
    assertProblem(byProperty('app.bad!name'), {
      file: properties,
      line: 3,
      property: 'app.bad!name',
      value: 'x',
      message: /application "bad!name", which is not a valid application name: use 1 to 64 letters/,
    })
    assertProblem(byProperty('app.api'), {
      file: properties,
      line: 4,
      property: 'app.api',
      value: 'x',
      message: /reserved for the node's own endpoints \(\/api, \/cluster, \/dashboard, \/metrics\)/,
    })
    assertProblem(byProperty('app.chatr.'), {
      file: properties,
      line: 5,
      property: 'app.chatr.',
      value: '1',
      message: /has no setting name after "app\.chatr\."/,
    })
    assertProblem(byProperty('webapps.dir'), {
      file: properties,
      line: 1,
      property: 'webapps.dir',
      value: 'nowhere',
      message: new RegExp(
        `is not a folder \\(${join(root, 'nowhere')}\\): create it, or write "webapps.dir=" for none`,
      ),
    })
    assertProblem(byProperty('app.chatr'), {
      file: properties,
      line: 2,
      property: 'app.chatr',
      value: 'missing/chat',
      message: /is not found \(.*missing\/chat\): give the application's folder or module/,
    })
  })

  it('an application listed twice', (t) => {
    const { conf, properties } = serverRoot(t, 'app.chatr=webapps/chatr\napp.chatr=webapps/chatr\n', {
      'webapps/chatr': null,
    })
    const [problem, ...rest] = problemsOf(() => loadConfig(conf))
    assert.equal(rest.length, 0)
    assertProblem(problem, {
      file: properties,
      line: 2,
      property: 'app.chatr',
      value: 'webapps/chatr',
      message: /set more than once \(lines 1 and 2\)/,
    })
  })
})

describe('application warnings', () => {
  it('settings for an application that is not loaded, an unknown webapps key, a folder with a bad name', (t) => {
    const { root, conf, properties } = serverRoot(t, 'app.ghost.history=5\nwebapps.dri=x\n', {
      'webapps/api': null,
      'webapps/ok': null,
    })
    const config = loadConfig(conf)
    assert.deepEqual(
      config.webapps.apps.map((a) => a.name),
      ['ok'],
    )
    assert.deepEqual(config.warnings, [
      `${properties}:2: unknown key "webapps.dri" is ignored (did you mean "webapps.dir"?)`,
      `${join(root, 'webapps')}: folder "api" is not loaded as an application: its name is reserved for the node's own endpoints (/api, /cluster, /dashboard, /metrics): choose another name`,
      `${properties}:1: settings for application "ghost" are ignored: no such application is loaded`,
    ])
  })
})
