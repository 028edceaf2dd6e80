import { ConfigError, LineIndex } from '@meshcast/interface'
import { type Element, xml2js } from 'xml-js'

/** Keep only elements and their text: comments, declaration and doctype play no part. */
const XML_OPTIONS = {
  compact: false,
  ignoreComment: true,
  ignoreDeclaration: true,
  ignoreInstruction: true,
  ignoreDoctype: true,
} as const

type Attempt = { root: Element; error?: undefined } | { error: Error }

function attempt(xml: string): Attempt {
  try {
    return { root: xml2js(xml, XML_OPTIONS) as Element }
  } catch (err) {
    return { error: err instanceof Error ? err : new Error(String(err)) }
  }
}

/**
 * sax (inside xml-js) keeps going after an error and throws only the last
 * one. It reads in a single pass, so the first error is the one of the
 * shortest prefix of the text that fails: found by bisection.
 */
function firstError(xml: string, last: Error): Error {
  let passing = 0
  let failing = xml.length
  let error = last
  while (failing - passing > 1) {
    const middle = Math.floor((passing + failing) / 2)
    const result = attempt(xml.slice(0, middle))
    if (result.error === undefined) {
      passing = middle
    } else {
      failing = middle
      error = result.error
    }
  }
  return error
}

/** xml-js drops an element's `parent` link when the element closes, so a link left over marks an unclosed one. */
function unclosedElement(element: Element): Element | undefined {
  for (const child of element.elements ?? []) {
    const unclosed = unclosedElement(child)
    if (unclosed !== undefined) return unclosed
  }
  return Object.hasOwn(element, 'parent') ? element : undefined
}

/** sax reports nothing when the text stops inside a tag or comment; a whole document ends with `>`. */
function endsInsideMarkup(xml: string): boolean {
  const withoutComments = xml.replace(/<!--[\s\S]*?-->/g, '')
  const trimmed = withoutComments.trimEnd()
  return trimmed !== '' && !trimmed.endsWith('>')
}

function malformed(file: string, line: number | undefined, what: string): ConfigError {
  const known = line === undefined ? {} : { line }
  return new ConfigError([{ file, ...known, message: `malformed XML (${what}): fix the file so it parses` }])
}

/** What is wrong with a parsed text that sax itself lets pass; `atEnd` when the end of the file shows it. */
function endProblem(root: Element, xml: string): { what: string; atEnd: boolean } | undefined {
  const unclosed = unclosedElement(root)
  if (unclosed !== undefined)
    return { what: `the file ends before <${unclosed.name}> is closed`, atEnd: true }
  if (endsInsideMarkup(xml)) return { what: 'the file ends inside a tag or comment', atEnd: true }
  const roots = (root.elements ?? []).filter((child) => child.type === 'element')
  if (roots.length > 1) {
    return { what: 'more than one root element: put the beans inside one <beans> element', atEnd: false }
  }
  return undefined
}

/** Parses XML with xml-js; throws a ConfigError naming the line of the first error when sax knows it. */
export function parseXml(xml: string, file: string): Element {
  const result = attempt(xml)
  if (result.error !== undefined) {
    const error = firstError(xml, result.error)
    const saxLine = /\nLine: (\d+)/.exec(error.message)
    // sax counts lines from 0
    throw malformed(file, saxLine ? Number(saxLine[1]) + 1 : undefined, error.message.split('\n')[0] ?? '')
  }
  const problem = endProblem(result.root, xml)
  if (problem === undefined) return result.root
  const lastLine = new LineIndex(xml).lineAt(xml.trimEnd().length)
  throw malformed(file, problem.atEnd ? lastLine : undefined, problem.what)
}
