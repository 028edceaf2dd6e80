import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type ClusterXmlOptions, clusterXml, red5Properties } from '@meshcast/config'

export type { ClusterXmlOptions } from '@meshcast/config'
export { clusterXml, red5Properties } from '@meshcast/config'

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
