/**
 * The inverse of the parsers, for tools that make conf folders (`meshcast
 * demo`, the tests): cluster.xml and red5.properties text from values.
 * A running node never writes its own config.
 */

/** cluster.xml properties; omitted ones keep meshcast's defaults. */
export interface ClusterXmlOptions {
  origins?: string[]
  password?: string
  publicIp?: string
  publicPort?: number
  privateInstance?: boolean
  retryDuration?: number
  nodeType?: string
  kickOnUnpublish?: boolean
  streamOnDemand?: boolean
  /** raw extra `<property .../>` lines, for testing bad input */
  extra?: string[]
}

const SCALAR_PROPERTIES = [
  'password',
  'publicIp',
  'publicPort',
  'privateInstance',
  'retryDuration',
  'nodeType',
  'kickOnUnpublish',
  'streamOnDemand',
] as const

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;')
}

/** A Red5-style cluster.xml with a `<beans>` root. */
export function clusterXml(opts: ClusterXmlOptions): string {
  const props: string[] = []
  const origins = (opts.origins ?? []).map((o) => `        <value>${escapeXml(o)}</value>`)
  props.push('    <property name="origins">', '      <list>', ...origins, '      </list>', '    </property>')
  for (const key of SCALAR_PROPERTIES) {
    const value = opts[key]
    if (value !== undefined) props.push(`    <property name="${key}" value="${escapeXml(String(value))}" />`)
  }
  props.push(...(opts.extra ?? []).map((line) => `    ${line}`))
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<beans xmlns="http://www.springframework.org/schema/beans">',
    '  <bean name="clusterConfig" class="com.red5pro.cluster.ClusterConfiguration">',
    ...props,
    '  </bean>',
    '</beans>',
    '',
  ].join('\n')
}

/** red5.properties text from a key → value map. */
export function red5Properties(values: Record<string, string | number | boolean>): string {
  return `${Object.entries(values)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n')}\n`
}
