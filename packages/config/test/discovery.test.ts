import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import {
  CLUSTER_XML,
  COMMAND_LINE,
  DEFAULTS,
  effectiveConfig,
  loadConfig,
  parseRed5Properties,
  RED5_PROPERTIES,
  RED5_PROPERTY_KEYS,
} from '../src/index.ts'
import { assertProblem, beanXml, makeConfDir, onlyProblem, problemsOf, prop, REPO_CONF } from './helpers.ts'

const FILE = '/conf/red5.properties'
const ORIGIN_BEAN = beanXml(prop('password', 'secret'), prop('publicIp', '203.0.113.10'))

/** The discovery settings of a red5.properties text. */
function discoveryOf(text: string) {
  return parseRed5Properties(text, FILE).discovery
}

describe('discovery settings default', () => {
  it('to mDNS on and no peers, with or without red5.properties', (t) => {
    const none = { mdns: true, peers: [], healSeconds: 600, profile: 'lan' }
    assert.deepEqual(DEFAULTS.discovery, none)
    assert.deepEqual(discoveryOf('mesh.port=7801\n'), none)
    const bare = loadConfig(makeConfDir(t, { [CLUSTER_XML]: ORIGIN_BEAN }))
    assert.deepEqual(bare.discovery, none)
    assert.deepEqual(loadConfig(REPO_CONF).discovery, none)
  })

  it('mesh.profile is lan (default) or wan, any case; anything else is a problem naming both', () => {
    assert.equal(discoveryOf('mesh.profile=wan\n').profile, 'wan')
    assert.equal(discoveryOf('mesh.profile= LAN \n').profile, 'lan')
    const problem = onlyProblem(() => parseRed5Properties('mesh.profile=moon\n', FILE))
    assert.equal(problem.property, 'mesh.profile')
    assert.match(problem.message, /use lan .* or wan/)
  })

  it('mesh.heal_window in seconds (0: off, decimals allowed); anything else is a problem', () => {
    assert.equal(discoveryOf('mesh.heal_window=30\n').healSeconds, 30)
    assert.equal(discoveryOf('mesh.heal_window=0\n').healSeconds, 0)
    assert.equal(discoveryOf('mesh.heal_window=2.5\n').healSeconds, 2.5)
    for (const value of ['-1', 'ten', '100000']) {
      const problem = onlyProblem(() => parseRed5Properties(`mesh.heal_window=${value}\n`, FILE))
      assert.equal(problem.property, 'mesh.heal_window')
    }
  })

  it('to what the commented-out lines of the shipped red5.properties say', () => {
    const shipped = readFileSync(join(REPO_CONF, RED5_PROPERTIES), 'utf8')
    assert.match(shipped, /^#mesh\.mdns=/m)
    assert.match(shipped, /^#mesh\.peers=/m)
    assert.match(shipped, /^#mesh\.profile=lan$/m)
    const uncommented = shipped.replace(/^#(mesh\.)/gm, '$1')
    const result = parseRed5Properties(uncommented, FILE)
    assert.deepEqual(result.discovery, DEFAULTS.discovery)
    assert.deepEqual(result.warnings, [])
  })
})

describe('mesh.mdns', () => {
  it('reads true and false, any case, with surrounding spaces', () => {
    assert.equal(discoveryOf('mesh.mdns=false').mdns, false)
    assert.equal(discoveryOf('mesh.mdns = FALSE ').mdns, false)
    assert.equal(discoveryOf('mesh.mdns: True').mdns, true)
  })

  it('rejects anything else with file, line, property, value and the valid values', () => {
    for (const value of ['yes', '0', 'off', '']) {
      const problem = onlyProblem(() => parseRed5Properties(`mesh.port=7800\nmesh.mdns=${value}\n`, FILE))
      assertProblem(problem, {
        file: FILE,
        line: 2,
        property: 'mesh.mdns',
        value,
        message: /not a boolean: use true or false/,
      })
    }
  })

  it('set twice, naming both lines', () => {
    const problem = onlyProblem(() => parseRed5Properties('mesh.mdns=true\nmesh.mdns=false\n', FILE))
    assertProblem(problem, {
      file: FILE,
      line: 2,
      property: 'mesh.mdns',
      value: 'false',
      message: /more than once \(lines 1 and 2\)/,
    })
  })
})

describe('mesh.peers reads', () => {
  it('an empty value, or only spaces, as no peers', () => {
    assert.deepEqual(discoveryOf('mesh.peers=').peers, [])
    assert.deepEqual(discoveryOf('mesh.peers =   ').peers, [])
  })

  it('IPv4 with and without a port, the port defaulting to mesh.port', () => {
    assert.deepEqual(discoveryOf('mesh.peers=203.0.113.20, 203.0.113.21:7801').peers, [
      { host: '203.0.113.20', port: 7800 },
      { host: '203.0.113.21', port: 7801 },
    ])
    assert.deepEqual(discoveryOf('mesh.port=7900\nmesh.peers=203.0.113.20').peers, [
      { host: '203.0.113.20', port: 7900 },
    ])
  })

  it('IPv6 bare, in brackets, and in brackets with a port, host without brackets', () => {
    assert.deepEqual(discoveryOf('mesh.peers=2001:db8::2,[2001:db8::3],[2001:db8::4]:7801,::1').peers, [
      { host: '2001:db8::2', port: 7800 },
      { host: '2001:db8::3', port: 7800 },
      { host: '2001:db8::4', port: 7801 },
      { host: '::1', port: 7800 },
    ])
  })

  it('DNS names with and without a port', () => {
    assert.deepEqual(discoveryOf('mesh.peers=node2.example.com,localhost:7802').peers, [
      { host: 'node2.example.com', port: 7800 },
      { host: 'localhost', port: 7802 },
    ])
  })

  it('a list continued over several lines', () => {
    assert.deepEqual(discoveryOf('mesh.peers=10.0.0.2,\\\n  10.0.0.3:7801\n').peers, [
      { host: '10.0.0.2', port: 7800 },
      { host: '10.0.0.3', port: 7801 },
    ])
  })
})

describe('mesh.peers warns', () => {
  it('about a repeat, however written, and drops it', () => {
    const { discovery, warnings } = parseRed5Properties(
      'mesh.port=7800\n\nmesh.peers=10.0.0.2, 10.0.0.2:7800, [2001:db8::1]:7801, [2001:DB8:0::1]:7801',
      FILE,
    )
    assert.deepEqual(discovery.peers, [
      { host: '10.0.0.2', port: 7800 },
      { host: '2001:db8::1', port: 7801 },
    ])
    assert.deepEqual(warnings, [
      `${FILE}:3: mesh.peers entry "10.0.0.2:7800" repeats "10.0.0.2" (both 10.0.0.2:7800); the repeat is ignored`,
      `${FILE}:3: mesh.peers entry "[2001:DB8:0::1]:7801" repeats "[2001:db8::1]:7801" (both [2001:db8::1]:7801); the repeat is ignored`,
    ])
  })
})

describe('mesh.peers rejects', () => {
  it('an invalid host, naming the entry', () => {
    const cases = [
      ['my host', /not a valid peer address: use host or host:port/],
      ['203.0.113.999', /not a valid peer address/],
      ['a:b:c.example', /not a valid peer address/],
      ['[not-ipv6]:7801', /not a valid IPv6 address in brackets/],
      ['0.0.0.0', /wildcard address.*the peer's real address/],
      ['[::]:7801', /wildcard address/],
    ] as const
    for (const [value, message] of cases) {
      const problem = onlyProblem(() => parseRed5Properties(`# peers\nmesh.peers=10.0.0.2, ${value}\n`, FILE))
      assertProblem(problem, { file: FILE, line: 2, property: 'mesh.peers', value, message })
    }
  })

  it('a bad port, naming it and the mesh port default', () => {
    for (const port of ['0', '65536', 'mesh', '78.5', '']) {
      const value = `10.0.0.2:${port}`
      const problem = onlyProblem(() => parseRed5Properties(`mesh.peers=${value}`, FILE))
      assertProblem(problem, {
        file: FILE,
        line: 1,
        property: 'mesh.peers',
        value,
        message: new RegExp(
          `invalid port "${port}": use a whole number from 1 to 65535, or no port for .*mesh port`,
        ),
      })
    }
    const bracketed = onlyProblem(() => parseRed5Properties('mesh.peers=[::1]:99999', FILE))
    assert.equal(bracketed.value, '[::1]:99999')
  })

  it('an empty entry between, before or after commas, once per value', () => {
    for (const value of ['a,,b', ',a', 'a,', 'a, ,b', 'a,,b,']) {
      const problem = onlyProblem(() => parseRed5Properties(`mesh.peers=${value}`, FILE))
      assertProblem(problem, {
        file: FILE,
        line: 1,
        property: 'mesh.peers',
        value,
        message: /empty entry: remove the extra comma/,
      })
    }
  })

  it('every bad entry of the list at once', () => {
    const problems = problemsOf(() => parseRed5Properties('mesh.peers=10.0.0.2,,bad host,10.0.0.3:0', FILE))
    assert.deepEqual(
      problems.map((p) => p.value),
      ['10.0.0.2,,bad host,10.0.0.3:0', 'bad host', '10.0.0.3:0'],
    )
  })

  it('set twice, naming both lines', () => {
    const problem = onlyProblem(() => parseRed5Properties('mesh.peers=a\nmesh.peers=b\n', FILE))
    assertProblem(problem, {
      file: FILE,
      line: 2,
      property: 'mesh.peers',
      value: 'b',
      message: /more than once \(lines 1 and 2\)/,
    })
  })
})

describe('discovery keys are known', () => {
  it('to the key list and the did-you-mean hints', () => {
    assert.ok(RED5_PROPERTY_KEYS.includes('mesh.mdns'))
    assert.ok(RED5_PROPERTY_KEYS.includes('mesh.peers'))
    const { warnings } = parseRed5Properties(
      'mesh.mdns=true\nmesh.peers=\nmesh.mnds=false\nmesh.peer=a\n',
      FILE,
    )
    assert.deepEqual(warnings, [
      `${FILE}:3: unknown key "mesh.mnds" is ignored (did you mean "mesh.mdns"?)`,
      `${FILE}:4: unknown key "mesh.peer" is ignored (did you mean "mesh.peers"?)`,
    ])
  })
})

describe('loadConfig discovery', () => {
  it('gives port-less peers the mesh port after --mesh-port, and keeps explicit ports', (t) => {
    const dir = makeConfDir(t, {
      [CLUSTER_XML]: ORIGIN_BEAN,
      [RED5_PROPERTIES]: 'mesh.port=7801\nmesh.peers=10.0.0.2, 10.0.0.3:7805\n',
    })
    assert.deepEqual(loadConfig(dir).discovery.peers, [
      { host: '10.0.0.2', port: 7801 },
      { host: '10.0.0.3', port: 7805 },
    ])
    assert.deepEqual(loadConfig(dir, { meshPort: '7900' }).discovery.peers, [
      { host: '10.0.0.2', port: 7900 },
      { host: '10.0.0.3', port: 7805 },
    ])
  })

  it('finds repeats only once the mesh port is known, warning in file order', (t) => {
    const dir = makeConfDir(t, {
      [CLUSTER_XML]: ORIGIN_BEAN,
      [RED5_PROPERTIES]: 'mesh.peers=10.0.0.2, 10.0.0.2:7900\nmesh.prot=1\n',
    })
    assert.equal(loadConfig(dir).discovery.peers.length, 2)
    const config = loadConfig(dir, { meshPort: '7900' })
    assert.deepEqual(config.discovery.peers, [{ host: '10.0.0.2', port: 7900 }])
    const file = join(dir, RED5_PROPERTIES)
    assert.deepEqual(config.warnings, [
      `${file}:2: unknown key "mesh.prot" is ignored (did you mean "mesh.port"?)`,
      `${file}:1: mesh.peers entry "10.0.0.2:7900" repeats "10.0.0.2" (both 10.0.0.2:7900); the repeat is ignored`,
    ])
  })

  it('reads mesh.mdns from the file', (t) => {
    const dir = makeConfDir(t, { [CLUSTER_XML]: ORIGIN_BEAN, [RED5_PROPERTIES]: 'mesh.mdns=false\n' })
    assert.equal(loadConfig(dir).discovery.mdns, false)
  })

  it('reports file problems with those of cluster.xml', (t) => {
    const dir = makeConfDir(t, {
      [CLUSTER_XML]: beanXml(prop('password', 'Secret')),
      [RED5_PROPERTIES]: 'mesh.mdns=maybe\nmesh.peers=a,,b\n',
    })
    const problems = problemsOf(() => loadConfig(dir))
    assert.deepEqual(
      problems.map((p) => [p.line, p.property, p.value]),
      [
        [2, 'password', 'Secret'],
        [1, 'mesh.mdns', 'maybe'],
        [2, 'mesh.peers', 'a,,b'],
      ],
    )
  })
})

describe('loadConfig applies discovery overrides', () => {
  const PROPERTIES = 'mesh.mdns=true\nmesh.peers=10.0.0.2, 10.0.0.3\n'

  it('mdns false and true over mesh.mdns; absent keeps the file', (t) => {
    const dir = makeConfDir(t, { [CLUSTER_XML]: ORIGIN_BEAN, [RED5_PROPERTIES]: 'mesh.mdns=false\n' })
    assert.equal(loadConfig(dir).discovery.mdns, false)
    assert.equal(loadConfig(dir, { mdns: true }).discovery.mdns, true)
    assert.equal(loadConfig(dir, { peers: [] }).discovery.mdns, false)
    const on = makeConfDir(t, { [CLUSTER_XML]: ORIGIN_BEAN, [RED5_PROPERTIES]: PROPERTIES })
    assert.equal(loadConfig(on, { mdns: false }).discovery.mdns, false)
  })

  it('peers in place of mesh.peers, in every form, port-less ones on the overridden mesh port', (t) => {
    const dir = makeConfDir(t, { [CLUSTER_XML]: ORIGIN_BEAN, [RED5_PROPERTIES]: PROPERTIES })
    const config = loadConfig(dir, {
      meshPort: '7901',
      peers: ['127.0.0.9:7801', 'node2.example.com', '2001:db8::2', '[2001:db8::3]:7802', ' [::1] '],
    })
    assert.deepEqual(config.discovery.peers, [
      { host: '127.0.0.9', port: 7801 },
      { host: 'node2.example.com', port: 7901 },
      { host: '2001:db8::2', port: 7901 },
      { host: '2001:db8::3', port: 7802 },
      { host: '::1', port: 7901 },
    ])
  })

  it('an empty peers list in place of mesh.peers', (t) => {
    const dir = makeConfDir(t, { [CLUSTER_XML]: ORIGIN_BEAN, [RED5_PROPERTIES]: PROPERTIES })
    assert.equal(loadConfig(dir).discovery.peers.length, 2)
    assert.deepEqual(loadConfig(dir, { peers: [] }).discovery.peers, [])
  })

  it('warning about a repeated peer and dropping it', (t) => {
    const dir = makeConfDir(t, { [CLUSTER_XML]: ORIGIN_BEAN })
    const config = loadConfig(dir, { peers: ['10.0.0.2', '10.0.0.2:7800'] })
    assert.deepEqual(config.discovery.peers, [{ host: '10.0.0.2', port: 7800 }])
    assert.deepEqual(config.warnings, [
      `${COMMAND_LINE}: --peer "10.0.0.2:7800" repeats "10.0.0.2" (both 10.0.0.2:7800); the repeat is ignored`,
    ])
  })

  it('rejecting each bad peer, named by its flag', (t) => {
    const dir = makeConfDir(t, { [CLUSTER_XML]: ORIGIN_BEAN })
    const cases = [
      ['', /empty peer address/],
      ['not a host', /not a valid peer address/],
      ['10.0.0.2:0', /invalid port "0".*1 to 65535/],
      ['10.0.0.2:x', /invalid port "x"/],
      ['0.0.0.0', /wildcard/],
      ['10.0.0.2,10.0.0.3', /several addresses: give each one its own --peer/],
    ] as const
    for (const [value, message] of cases) {
      const problem = onlyProblem(() => loadConfig(dir, { peers: ['10.0.0.5', value] }))
      assertProblem(problem, { file: COMMAND_LINE, property: '--peer', value, message })
    }
  })

  it('reporting bad peers after the other command-line problems', (t) => {
    const dir = makeConfDir(t, { [CLUSTER_XML]: ORIGIN_BEAN })
    const problems = problemsOf(() => loadConfig(dir, { meshPort: '0', peers: ['x y', '10.0.0.2:99999'] }))
    assert.deepEqual(
      problems.map((p) => [p.file, p.property, p.value]),
      [
        [COMMAND_LINE, '--mesh-port', '0'],
        [COMMAND_LINE, '--peer', 'x y'],
        [COMMAND_LINE, '--peer', '10.0.0.2:99999'],
      ],
    )
  })
})

describe('discovery settings in the loaded config', () => {
  it('are deep-frozen', (t) => {
    const dir = makeConfDir(t, { [CLUSTER_XML]: ORIGIN_BEAN, [RED5_PROPERTIES]: 'mesh.peers=10.0.0.2\n' })
    const config = loadConfig(dir)
    const peer = config.discovery.peers[0]
    assert.ok(peer)
    assert.ok(Object.isFrozen(config.discovery))
    assert.throws(() => {
      config.discovery.mdns = false
    }, TypeError)
    assert.throws(() => {
      peer.port = 1
    }, TypeError)
    assert.throws(() => (config.discovery.peers as unknown[]).push(peer), TypeError)
  })

  it('show in effectiveConfig, peers as host:port', (t) => {
    const dir = makeConfDir(t, {
      [CLUSTER_XML]: ORIGIN_BEAN,
      [RED5_PROPERTIES]: 'mesh.mdns=false\nmesh.peers=10.0.0.2, [2001:db8::2]:7801\n',
    })
    assert.deepEqual(effectiveConfig(loadConfig(dir)).discovery, {
      mdns: false,
      peers: ['10.0.0.2:7800', '[2001:db8::2]:7801'],
      healSeconds: 600,
      profile: 'lan',
    })
  })
})
