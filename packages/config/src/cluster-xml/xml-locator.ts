import { LineIndex } from '@meshcast/interface'

/** An optional XML namespace prefix such as `beans:`. */
const PREFIX = '(?:[\\w.-]+:)?'

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/** Replaces comments with spaces (newlines kept) so commented-out elements are not counted. */
function blankComments(xml: string): string {
  return xml.replace(/<!--[\s\S]*?-->/g, (comment) => comment.replace(/[^\r\n]/g, ' '))
}

/**
 * Finds where parts of a bean sit in the raw XML. xml-js reports no
 * positions, so elements are found again in the text: the nth element of a
 * kind in the tree is the nth match in the text.
 */
export class XmlLocator {
  readonly #text: string
  readonly #lines: LineIndex

  constructor(xml: string) {
    this.#text = blankComments(xml)
    this.#lines = new LineIndex(xml)
  }

  /** Offset of the nth (0-based) `<bean>` whose name or id includes `name`. */
  beanOffset(name: string, nth: number): number | undefined {
    const alias = `(["'])(?:[^"']*[,;\\s])?${escapeRegExp(name)}(?:[,;\\s][^"']*)?\\1`
    return this.#nthMatch(`<${PREFIX}bean\\b[^>]*?\\b(?:name|id)\\s*=\\s*${alias}`, nth, 0)
  }

  /** Offset of the nth (0-based) `<property name="name">` after `from`. */
  propertyOffset(name: string, nth: number, from: number): number | undefined {
    return this.#nthMatch(
      `<${PREFIX}property\\b[^>]*?\\bname\\s*=\\s*(["'])${escapeRegExp(name)}\\1`,
      nth,
      from,
    )
  }

  /** Offset of the nth (0-based) `<value>` after `from`. */
  valueOffset(nth: number, from: number): number | undefined {
    return this.#nthMatch(`<${PREFIX}value\\b`, nth, from)
  }

  lineAt(offset: number | undefined): number | undefined {
    return offset === undefined ? undefined : this.#lines.lineAt(offset)
  }

  #nthMatch(source: string, nth: number, from: number): number | undefined {
    const pattern = new RegExp(source, 'g')
    pattern.lastIndex = from
    for (let seen = 0; ; seen++) {
      const match = pattern.exec(this.#text)
      if (match === null) return undefined
      if (seen === nth) return match.index
    }
  }
}
