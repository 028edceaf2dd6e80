import { ConfigError, type ConfigProblem } from '@meshcast/interface'
import type { Element } from 'xml-js'
import { CLUSTER_BEAN_NAME } from '../defaults.ts'
import { ProblemList, type ProblemPlace } from '../problems/problem-list.ts'
import { parseXml } from './parse-xml.ts'
import { XmlLocator } from './xml-locator.ts'

/** One `<value>` of a `<list>`, with its line. */
export interface RawListItem {
  text: string
  line: number | undefined
}

/** A property value before checking: text (attribute or `<value>`), a list, or unreadable (already reported). */
export type RawValue =
  | { kind: 'text'; text: string }
  | { kind: 'list'; items: RawListItem[] }
  | { kind: 'invalid' }

/** One `<property>` of the bean. */
export interface RawProperty {
  name: string
  line: number | undefined
  /** the value as written, for reports; undefined for lists */
  text: string | undefined
  value: RawValue
  /** where it was set, when not in the bean's own file (a variable: `environment`) */
  file?: string
  /** the name problems use, when not `name` (a variable's: `MESHCAST_PUBLIC_IP`) */
  label?: string
}

/** The bean's properties in document order, plus what was wrong with their form. */
export interface BeanReading {
  properties: RawProperty[]
  warnings: string[]
  problems: ConfigProblem[]
}

interface ReadContext {
  file: string
  locator: XmlLocator
  problems: ProblemList
  warnings: string[]
}

function localName(element: Element): string {
  const name = element.name ?? ''
  return name.slice(name.indexOf(':') + 1)
}

function childElements(element: Element): Element[] {
  return (element.elements ?? []).filter((child) => child.type === 'element')
}

function textOf(element: Element): string {
  const parts = (element.elements ?? []).map((child) => {
    if (child.type === 'text') return String(child.text ?? '')
    return child.type === 'cdata' ? (child.cdata ?? '') : ''
  })
  return parts.join('')
}

function attribute(element: Element, name: string): string | undefined {
  const value = element.attributes?.[name]
  return value === undefined ? undefined : String(value)
}

/** Spring allows several names in `name`, split by commas, semicolons or spaces. */
function isClusterBean(element: Element): boolean {
  if (localName(element) !== 'bean') return false
  const names = (attribute(element, 'name') ?? '').split(/[,;\s]+/)
  return names.includes(CLUSTER_BEAN_NAME) || attribute(element, 'id') === CLUSTER_BEAN_NAME
}

function findClusterBeans(element: Element): Element[] {
  if (isClusterBean(element)) return [element]
  return childElements(element).flatMap(findClusterBeans)
}

function invalid(ctx: ReadContext, place: ProblemPlace, message: string): RawValue {
  ctx.problems.add({ ...place, message })
  return { kind: 'invalid' }
}

function readList(
  ctx: ReadContext,
  list: Element,
  place: ProblemPlace,
  offset: number | undefined,
): RawValue {
  const items: RawListItem[] = []
  for (const item of childElements(list)) {
    if (localName(item) !== 'value') {
      invalid(ctx, place, `has <${item.name}> in its list: only <value> elements are supported there`)
      continue
    }
    const valueOffset = offset === undefined ? undefined : ctx.locator.valueOffset(items.length, offset)
    items.push({ text: textOf(item), line: ctx.locator.lineAt(valueOffset) })
  }
  return { kind: 'list', items }
}

function readValue(
  ctx: ReadContext,
  property: Element,
  place: ProblemPlace,
  offset: number | undefined,
): RawValue {
  const valueAttribute = attribute(property, 'value')
  const [child, ...others] = childElements(property)
  if (attribute(property, 'ref') !== undefined) {
    return invalid(
      ctx,
      place,
      'uses ref="...", which meshcast does not support: write the value itself, value="..."',
    )
  }
  if (valueAttribute !== undefined) {
    if (child === undefined) return { kind: 'text', text: valueAttribute }
    return invalid(ctx, place, 'has both a value attribute and a child element: use one of them')
  }
  if (child === undefined) return invalid(ctx, place, 'has no value: write value="..." or a <value> child')
  if (others.length > 0) {
    return invalid(ctx, place, 'has more than one child element: use one <value> or <list>')
  }
  const kind = localName(child)
  if (kind === 'value') return { kind: 'text', text: textOf(child) }
  if (kind === 'list' || kind === 'set' || kind === 'array') return readList(ctx, child, place, offset)
  return invalid(
    ctx,
    place,
    `has a <${child.name}> value, which is not supported: use value="...", <value> or <list>`,
  )
}

function readProperties(ctx: ReadContext, bean: Element, beanOffset: number): RawProperty[] {
  const properties: RawProperty[] = []
  const seen = new Map<string, number>()
  for (const element of childElements(bean)) {
    if (localName(element) !== 'property') {
      ctx.warnings.push(
        `${ctx.file}: <${element.name}> in the ${CLUSTER_BEAN_NAME} bean is ignored; only <property> is read`,
      )
      continue
    }
    const name = attribute(element, 'name')
    if (name === undefined || name === '') {
      ctx.problems.add({
        file: ctx.file,
        message: '<property> has no name: write <property name="..." value="..."/>',
      })
      continue
    }
    const nth = seen.get(name) ?? 0
    seen.set(name, nth + 1)
    const offset = ctx.locator.propertyOffset(name, nth, beanOffset)
    const line = ctx.locator.lineAt(offset)
    const value = readValue(ctx, element, { file: ctx.file, line, property: name }, offset)
    properties.push({ name, line, text: value.kind === 'text' ? value.text : undefined, value })
  }
  return properties
}

/**
 * Reads the `clusterConfig` bean of a cluster.xml text, alone or inside
 * `<beans>`. Throws a ConfigError when the XML is malformed or has no such
 * bean; other problems are returned so they can be reported with the rest.
 */
export function readClusterBean(xml: string, file: string): BeanReading {
  const [bean, second] = findClusterBeans(parseXml(xml, file))
  if (bean === undefined) {
    const expected = `<bean name="${CLUSTER_BEAN_NAME}" class="com.red5pro.cluster.ClusterConfiguration">`
    const message = `no bean named "${CLUSTER_BEAN_NAME}" found: the file must hold ${expected}, alone or inside <beans>; see conf/examples/`
    throw new ConfigError([{ file, message }])
  }
  const ctx: ReadContext = { file, locator: new XmlLocator(xml), problems: new ProblemList(), warnings: [] }
  const beanOffset = ctx.locator.beanOffset(CLUSTER_BEAN_NAME, 0)
  if (second !== undefined) {
    const firstLine = ctx.locator.lineAt(beanOffset)
    const line = ctx.locator.lineAt(ctx.locator.beanOffset(CLUSTER_BEAN_NAME, 1))
    const message = `a second bean named "${CLUSTER_BEAN_NAME}"${firstLine === undefined ? '' : ` (the first is on line ${firstLine})`}: keep one`
    ctx.problems.add({ file, line, message })
  }
  const properties = readProperties(ctx, bean, beanOffset ?? 0)
  return { properties, warnings: ctx.warnings, problems: ctx.problems.problems }
}
