import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** cluster.xml properties for a test node; omitted ones keep meshcast's defaults. */
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

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;')
}

/** A Red5-style cluster.xml with a `<beans>` root. */
export function clusterXml(opts: ClusterXmlOptions): string {
  const props: string[] = []
  const origins = (opts.origins ?? []).map((o) => `        <value>${escapeXml(o)}</value>`)
  props.push('    <property name="origins">', '      <list>', ...origins, '      </list>', '    </property>')
  for (const key of [
    'password',
    'publicIp',
    'publicPort',
    'privateInstance',
    'retryDuration',
    'nodeType',
    'kickOnUnpublish',
    'streamOnDemand',
  ] as const) {
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
export function red5Properties(values: Record<string, string | number>): string {
  return `${Object.entries(values)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n')}\n`
}

/** A fresh temp conf folder holding cluster.xml (and red5.properties when given). */
export function writeConfDir(
  cluster: ClusterXmlOptions | string,
  properties?: Record<string, string | number> | string,
): string {
  const dir = mkdtempSync(join(tmpdir(), 'meshcast-conf-'))
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'cluster.xml'), typeof cluster === 'string' ? cluster : clusterXml(cluster))
  if (properties !== undefined) {
    const text = typeof properties === 'string' ? properties : red5Properties(properties)
    writeFileSync(join(dir, 'red5.properties'), text)
  }
  return dir
}
