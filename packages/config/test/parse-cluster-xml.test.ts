import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DEFAULTS, parseClusterXml } from '../src/index.ts'
import { assertProblem, beanXml, onlyProblem, problemsOf, prop } from './helpers.ts'

const FILE = '/conf/cluster.xml'

/** Every property set, one per line from line 2. */
const FULL_BEAN = beanXml(
  '<property name="origins"><list><value>203.0.113.10</value><value>203.0.113.11:1936</value></list></property>',
  prop('password', 'our-secret'),
  prop('publicIp', '203.0.113.55'),
  prop('publicPort', '1940'),
  prop('privateInstance', 'true'),
  prop('retryDuration', '2.5'),
  prop('nodeType', 'relay'),
  prop('kickOnUnpublish', 'TRUE'),
  prop('streamOnDemand', 'False'),
)

const FULL_SETTINGS = {
  origins: [
    { host: '203.0.113.10', port: 1935, text: '203.0.113.10' },
    { host: '203.0.113.11', port: 1936, text: '203.0.113.11:1936' },
  ],
  password: 'our-secret',
  publicIp: '203.0.113.55',
  publicPort: 1940,
  privateInstance: true,
  retryDuration: 2.5,
  nodeType: 'relay',
  kickOnUnpublish: true,
  streamOnDemand: false,
}

function settingsOf(xml: string) {
  return parseClusterXml(xml, FILE).settings
}

describe('parseClusterXml reads', () => {
  it('every property of a bare clusterConfig bean', () => {
    assert.deepEqual(parseClusterXml(FULL_BEAN, FILE), { settings: FULL_SETTINGS, warnings: [] })
  })

  it('the same bean inside a <beans> root with declaration, namespaces, doctype and comments', () => {
    const xml = [
      '<?xml version="1.0" encoding="UTF-8"?>',
      '<!DOCTYPE beans PUBLIC "-//SPRING//DTD BEAN//EN" "http://www.springframework.org/dtd/spring-beans.dtd">',
      '<!-- a comment before the root -->',
      '<beans xmlns="http://www.springframework.org/schema/beans"',
      '       xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"',
      '       xsi:schemaLocation="http://www.springframework.org/schema/beans spring-beans.xsd">',
      '  <bean id="somethingElse" class="x.Y"><property name="password" value="Not-Ours" /></bean>',
      FULL_BEAN,
      '</beans>',
    ].join('\n')
    assert.deepEqual(parseClusterXml(xml, FILE), { settings: FULL_SETTINGS, warnings: [] })
  })

  it('a bean found by id or by one of several names', () => {
    const byId = '<bean id="clusterConfig" class="c"><property name="password" value="by-id"/></bean>'
    const byAlias =
      '<bean name="cluster; clusterConfig" class="c"><property name="password" value="by-alias"/></bean>'
    assert.equal(settingsOf(byId).password, 'by-id')
    assert.equal(settingsOf(byAlias).password, 'by-alias')
  })

  it('the defaults for every property left out', () => {
    assert.deepEqual(settingsOf('<bean name="clusterConfig" class="c"/>'), DEFAULTS.cluster)
  })

  it('values written as <value> children', () => {
    const xml = beanXml(
      '<property name="password"><value>child-form</value></property>',
      '<property name="publicPort">',
      '  <value>',
      '    1936',
      '  </value>',
      '</property>',
      '<property name="origins"><value>203.0.113.10, [::1]:1937</value></property>',
    )
    const settings = settingsOf(xml)
    assert.equal(settings.password, 'child-form')
    assert.equal(settings.publicPort, 1936)
    assert.deepEqual(
      settings.origins.map((o) => [o.host, o.port]),
      [
        ['203.0.113.10', 1935],
        ['::1', 1937],
      ],
    )
  })

  it('an origins list with comments and blank lines between values', () => {
    const xml = beanXml(
      '<property name="origins">',
      '  <list>',
      '    <!-- first origin -->',
      '',
      '    <value> 203.0.113.10 </value>',
      '    <!-- <value>203.0.113.11:1935</value> -->',
      '    <value>[2001:db8::1]:1936</value>',
      '    <value>origin.example.com</value>',
      '  </list>',
      '</property>',
    )
    assert.deepEqual(settingsOf(xml).origins, [
      { host: '203.0.113.10', port: 1935, text: '203.0.113.10' },
      { host: '2001:db8::1', port: 1936, text: '[2001:db8::1]:1936' },
      { host: 'origin.example.com', port: 1935, text: 'origin.example.com' },
    ])
  })

  it('an empty origins list, in every spelling', () => {
    for (const form of ['<list></list>', '<list/>', '<list>\n  <!-- none -->\n</list>']) {
      assert.deepEqual(settingsOf(beanXml(`<property name="origins">${form}</property>`)).origins, [])
    }
    assert.deepEqual(settingsOf(beanXml(prop('origins', ''))).origins, [])
  })

  it('comma-separated origins in a value attribute, as Spring converts them', () => {
    const origins = settingsOf(
      beanXml(prop('origins', '203.0.113.10, 203.0.113.11:1936,origin.example.com')),
    ).origins
    assert.deepEqual(
      origins.map((o) => o.text),
      ['203.0.113.10', '203.0.113.11:1936', 'origin.example.com'],
    )
  })

  it('<set> and <array> like <list>', () => {
    for (const kind of ['set', 'array']) {
      const xml = beanXml(
        `<property name="origins"><${kind}><value>203.0.113.10</value></${kind}></property>`,
      )
      assert.equal(settingsOf(xml).origins.length, 1)
    }
  })

  it('XML entities and CDATA in values', () => {
    assert.equal(settingsOf(beanXml(prop('password', 'a&amp;b'))).password, 'a&b')
    assert.equal(
      settingsOf(beanXml('<property name="password"><value><![CDATA[x<y]]></value></property>')).password,
      'x<y',
    )
  })

  it('a file starting with a byte order mark', () => {
    assert.equal(settingsOf(`\uFEFF${beanXml(prop('password', 'bom'))}`).password, 'bom')
  })
})

describe('parseClusterXml warns', () => {
  it('about an unknown property, naming its line and the likely intended name', () => {
    const { settings, warnings } = parseClusterXml(
      beanXml(prop('password', 'ok'), prop('pasword', 'x')),
      FILE,
    )
    assert.equal(settings.password, 'ok')
    assert.equal(warnings.length, 1)
    assert.match(
      warnings[0] ?? '',
      /^\/conf\/cluster\.xml:3: unknown property "pasword" .*did you mean "password"/,
    )
  })

  it('about an unknown property unlike any known one, without a suggestion', () => {
    const { warnings } = parseClusterXml(beanXml(prop('colour', 'blue')), FILE)
    assert.match(warnings[0] ?? '', /:2: unknown property "colour" is ignored$/)
  })

  it('about a capitalisation slip as a typo', () => {
    const { warnings } = parseClusterXml(beanXml(prop('publicIP', '203.0.113.10')), FILE)
    assert.match(warnings[0] ?? '', /did you mean "publicIp"/)
  })

  it('about a duplicated origin, keeping the first', () => {
    const xml = beanXml(
      '<property name="origins"><list>',
      '  <value>203.0.113.10</value>',
      '  <value>203.0.113.10:1935</value>',
      '  <value>[2001:db8:0::1]</value>',
      '  <value>[2001:DB8::1]</value>',
      '</list></property>',
    )
    const { settings, warnings } = parseClusterXml(xml, FILE)
    assert.deepEqual(
      settings.origins.map((o) => o.text),
      ['203.0.113.10', '[2001:db8:0::1]'],
    )
    assert.equal(warnings.length, 2)
    assert.match(
      warnings[0] ?? '',
      /:4: origins entry "203\.0\.113\.10:1935" repeats "203\.0\.113\.10" on line 3/,
    )
    assert.match(warnings[1] ?? '', /:6: origins entry "\[2001:DB8::1\]" repeats/)
  })

  it('about elements other than <property> in the bean', () => {
    const { warnings } = parseClusterXml(beanXml('<constructor-arg value="x"/>'), FILE)
    assert.match(warnings[0] ?? '', /<constructor-arg> .* ignored/)
  })
})

describe('parseClusterXml rejects', () => {
  it('a password with a capital letter, saying why', () => {
    const problem = onlyProblem(() =>
      parseClusterXml(beanXml(prop('publicIp', '203.0.113.10'), prop('password', 'Secret')), FILE),
    )
    assertProblem(problem, {
      file: FILE,
      line: 3,
      property: 'password',
      value: 'Secret',
      message:
        /capital letters: Red5 Pro rejects them \(edges fail to authenticate\).*cluster key.*same lowercase text on every node/,
    })
  })

  it('an empty password', () => {
    for (const value of ['', '   ']) {
      const problem = onlyProblem(() => parseClusterXml(beanXml(prop('password', value)), FILE))
      assertProblem(problem, { file: FILE, line: 2, property: 'password', value, message: /empty/ })
    }
  })

  it('an invalid publicIp', () => {
    for (const value of ['203.0.113.999', 'not an address', '203.0.113.10:1935']) {
      const problem = onlyProblem(() => parseClusterXml(beanXml(prop('publicIp', value)), FILE))
      assertProblem(problem, {
        file: FILE,
        line: 2,
        property: 'publicIp',
        value,
        message: /not a valid address/,
      })
    }
  })

  it('a publicPort outside 1..65535 or not an integer', () => {
    for (const value of ['0', '65536', '19.35', 'rtmp', '']) {
      const problem = onlyProblem(() => parseClusterXml(beanXml(prop('publicPort', value)), FILE))
      assertProblem(problem, { file: FILE, line: 2, property: 'publicPort', value, message: /1 to 65535/ })
    }
  })

  it('a retryDuration that is not a number above 0', () => {
    for (const value of ['soon', '0', '-5', '']) {
      const problem = onlyProblem(() => parseClusterXml(beanXml(prop('retryDuration', value)), FILE))
      assertProblem(problem, {
        file: FILE,
        line: 2,
        property: 'retryDuration',
        value,
        message: /greater than 0/,
      })
    }
  })

  it('an unknown nodeType, listing the valid ones', () => {
    const problem = onlyProblem(() => parseClusterXml(beanXml(prop('nodeType', 'hub')), FILE))
    assertProblem(problem, {
      file: FILE,
      line: 2,
      property: 'nodeType',
      value: 'hub',
      message: /auto, off, origin, edge, relay/,
    })
  })

  it('an invalid boolean in each boolean property', () => {
    for (const name of ['privateInstance', 'kickOnUnpublish', 'streamOnDemand']) {
      const problem = onlyProblem(() => parseClusterXml(beanXml(prop(name, 'yes')), FILE))
      assertProblem(problem, { file: FILE, line: 2, property: name, value: 'yes', message: /true or false/ })
    }
  })

  it('each invalid origins entry, on its own line', () => {
    const xml = beanXml(
      '<property name="origins">',
      '  <list>',
      '    <value>203.0.113.10</value>',
      '    <value>2001:db8::1</value>',
      '    <value>203.0.113.11:70000</value>',
      '    <value>bad_host</value>',
      '    <value></value>',
      '  </list>',
      '</property>',
    )
    const problems = problemsOf(() => parseClusterXml(xml, FILE))
    assert.equal(problems.length, 4)
    const at = { file: FILE, property: 'origins' }
    assertProblem(problems[0], {
      ...at,
      line: 5,
      value: '2001:db8::1',
      message: /without brackets.*write \[2001:db8::1\]/,
    })
    assertProblem(problems[1], {
      ...at,
      line: 6,
      value: '203.0.113.11:70000',
      message: /invalid port "70000"/,
    })
    assertProblem(problems[2], { ...at, line: 7, value: 'bad_host', message: /not a valid origin address/ })
    assertProblem(problems[3], { ...at, line: 8, value: '', message: /empty origins entry/ })
  })

  it('an invalid entry of a comma-separated origins value, on the property line', () => {
    const problem = onlyProblem(() => parseClusterXml(beanXml(prop('origins', '203.0.113.10, ::1')), FILE))
    assertProblem(problem, { file: FILE, line: 2, property: 'origins', value: '::1', message: /brackets/ })
  })

  it('an origins entry that is this node by publicIp and publicPort', () => {
    const xml = beanXml(
      prop('publicIp', '203.0.113.10'),
      '<property name="origins"><list>',
      '  <value>203.0.113.11</value>',
      '  <value>203.0.113.10</value>',
      '</list></property>',
    )
    const problem = onlyProblem(() => parseClusterXml(xml, FILE))
    assertProblem(problem, {
      file: FILE,
      line: 5,
      property: 'origins',
      value: '203.0.113.10',
      message: /this node itself \(publicIp:publicPort 203\.0\.113\.10:1935\)/,
    })
  })

  it('an IPv6 origins entry that is this node, however the address is spelt', () => {
    const xml = beanXml(
      prop('publicIp', '2001:db8::1'),
      prop('publicPort', '1936'),
      prop('origins', '[2001:DB8:0::1]:1936'),
    )
    const problem = onlyProblem(() => parseClusterXml(xml, FILE))
    assertProblem(problem, {
      file: FILE,
      line: 4,
      property: 'origins',
      value: '[2001:DB8:0::1]:1936',
      message: /itself/,
    })
  })

  it('nothing about self when the port differs or publicIp is a wildcard', () => {
    const otherPort = beanXml(
      prop('publicIp', '203.0.113.10'),
      prop('publicPort', '1936'),
      prop('origins', '203.0.113.10'),
    )
    assert.equal(settingsOf(otherPort).origins.length, 1)
    for (const wildcard of ['0.0.0.0', '::']) {
      const xml = beanXml(prop('publicIp', wildcard), prop('origins', '203.0.113.10'))
      assert.equal(settingsOf(xml).origins.length, 1)
    }
  })

  it('a property set twice, naming both lines', () => {
    const xml = beanXml(prop('password', 'first'), prop('publicPort', '1935'), prop('password', 'second'))
    const problem = onlyProblem(() => parseClusterXml(xml, FILE))
    assertProblem(problem, {
      file: FILE,
      line: 4,
      property: 'password',
      value: 'second',
      message: /more than once \(lines 2 and 4\)/,
    })
  })

  it('malformed XML, with the line the parser stopped at', () => {
    const xml = [
      '<beans>',
      '  <bean name="clusterConfig" class="c">',
      '    <property name="password" value="x">',
      '  </bean>',
      '</beans>',
    ].join('\n')
    const problem = onlyProblem(() => parseClusterXml(xml, FILE))
    assertProblem(problem, { file: FILE, line: 4, message: /malformed XML/ })
  })

  it('an unquoted attribute as malformed XML', () => {
    const problem = onlyProblem(() =>
      parseClusterXml('<bean name="clusterConfig">\n\n  <property name=password/>\n</bean>', FILE),
    )
    assertProblem(problem, { file: FILE, line: 3, message: /malformed XML/ })
  })

  it('a truncated file, which the XML parser alone would let pass', () => {
    const xml = [
      '<beans>',
      '  <bean name="clusterConfig" class="c">',
      '    <property name="password" value="x"/>',
      '',
    ].join('\n')
    const problem = onlyProblem(() => parseClusterXml(xml, FILE))
    assertProblem(problem, {
      file: FILE,
      line: 3,
      message: /malformed XML \(the file ends before <bean> is closed\)/,
    })
  })

  it('a file that stops inside a comment or tag', () => {
    for (const end of ['<!-- unfinished', '<', '<!']) {
      const problem = onlyProblem(() => parseClusterXml(`${beanXml(prop('password', 'x'))}${end}`, FILE))
      assertProblem(problem, {
        file: FILE,
        line: 4,
        message: /malformed XML \(the file ends inside a tag or comment\)/,
      })
    }
  })

  it('several root elements', () => {
    const problem = onlyProblem(() => parseClusterXml(`${beanXml()}<bean name="other"/>`, FILE))
    assertProblem(problem, { file: FILE, message: /malformed XML \(more than one root element/ })
  })

  it('text outside the root element', () => {
    const problem = onlyProblem(() => parseClusterXml(`${beanXml()}\noops`, FILE))
    assertProblem(problem, { file: FILE, line: 4, message: /malformed XML \(Text data outside of root node/ })
  })

  it('a file without a clusterConfig bean, pointing to the examples', () => {
    for (const xml of [
      '',
      '<beans/>',
      '<beans><bean name="other" class="c"/></beans>',
      '<bean name="clusterConfigs"/>',
    ]) {
      const problem = onlyProblem(() => parseClusterXml(xml, FILE))
      assertProblem(problem, { file: FILE, message: /no bean named "clusterConfig".*conf\/examples/ })
    }
  })

  it('two clusterConfig beans', () => {
    const xml = [
      '<beans>',
      '  <bean name="clusterConfig" class="c"/>',
      '  <bean id="clusterConfig" class="c"/>',
      '</beans>',
    ].join('\n')
    const problem = onlyProblem(() => parseClusterXml(xml, FILE))
    assertProblem(problem, {
      file: FILE,
      line: 3,
      message: /second bean named "clusterConfig" \(the first is on line 2\)/,
    })
  })

  it('property forms meshcast cannot read', () => {
    const cases = [
      ['<property name="password"/>', /no value/],
      ['<property name="password" ref="secretBean"/>', /ref=/],
      [
        '<property name="password" value="a"><value>b</value></property>',
        /both a value attribute and a child/,
      ],
      ['<property name="password"><value>a</value><value>b</value></property>', /more than one child/],
      ['<property name="password"><list><value>a</value></list></property>', /single value, not a list/],
      ['<property name="password"><null/></property>', /<null> value, which is not supported/],
      ['<property name="origins"><list><ref bean="x"/></list></property>', /only <value> elements/],
    ] as const
    for (const [line, message] of cases) {
      const problem = onlyProblem(() => parseClusterXml(beanXml(line), FILE))
      assert.equal(problem.line, 2, line)
      assert.match(problem.message, message)
    }
    const nameless = onlyProblem(() => parseClusterXml(beanXml('<property value="x"/>'), FILE))
    assertProblem(nameless, { file: FILE, message: /no name/ })
  })

  it('every problem of the file at once', () => {
    const xml = beanXml(
      prop('password', 'Secret'),
      prop('publicPort', '99999'),
      prop('nodeType', 'hub'),
      prop('origins', '::1'),
      prop('pasword', 'typo'),
    )
    const problems = problemsOf(() => parseClusterXml(xml, FILE))
    assert.deepEqual(
      problems.map((p) => [p.line, p.property]),
      [
        [2, 'password'],
        [3, 'publicPort'],
        [4, 'nodeType'],
        [5, 'origins'],
      ],
    )
  })

  it('line numbers that skip commented-out properties', () => {
    const xml = beanXml(
      '<!-- <property name="password" value="old"/> -->',
      '<!--',
      prop('password', 'x'),
      '-->',
      prop('password', 'Upper'),
    )
    assertProblem(
      onlyProblem(() => parseClusterXml(xml, FILE)),
      {
        file: FILE,
        line: 6,
        property: 'password',
        value: 'Upper',
        message: /capital/,
      },
    )
  })
})
