import { ProblemList } from '../problems/problem-list.ts'
import { findSelfOrigins, selfAddress } from '../self-origin.ts'
import type { ClusterSettings } from '../types.ts'
import { type ClusterReading, checkClusterProperties } from './cluster-settings.ts'
import { type RawProperty, readClusterBean } from './read-bean.ts'

/**
 * Reads and checks cluster.xml text; problems are returned, except that
 * unreadable XML throws a ConfigError. A property in `over` (set by a
 * variable) replaces the file's.
 */
export function readClusterXml(
  text: string,
  file: string,
  over: readonly RawProperty[] = [],
): ClusterReading {
  const bean = readClusterBean(text.replace(/^\uFEFF/, ''), file)
  const replaced = new Set(over.map((p) => p.name))
  const properties = [...bean.properties.filter((p) => !replaced.has(p.name)), ...over]
  const checked = checkClusterProperties(properties, file)
  return {
    ...checked,
    warnings: [...bean.warnings, ...checked.warnings],
    problems: [...bean.problems, ...checked.problems],
  }
}

/** The publicIp:publicPort address of the settings, unless publicIp is a wildcard. */
export function publicSelf(settings: ClusterSettings) {
  return selfAddress(settings.publicIp, settings.publicPort, 'publicIp:publicPort')
}

/**
 * Parses the text of a cluster.xml: the `clusterConfig` bean, alone or in
 * `<beans>`. Throws one ConfigError listing every problem; `file` names the
 * file in problems and warnings.
 */
export function parseClusterXml(
  text: string,
  file: string,
): { settings: ClusterSettings; warnings: string[] } {
  const reading = readClusterXml(text, file)
  const problems = new ProblemList()
  problems.addAll(reading.problems)
  problems.addAll(
    findSelfOrigins(reading.settings.origins, reading.originLines, publicSelf(reading.settings), file),
  )
  problems.throwIfAny()
  return { settings: reading.settings, warnings: reading.warnings }
}
