/** Maps character offsets of a text to 1-based line numbers; \n, \r\n and a lone \r end a line. */
export class LineIndex {
  readonly #starts: number[] = [0]

  constructor(text: string) {
    for (const match of text.matchAll(/\r\n?|\n/g)) this.#starts.push(match.index + match[0].length)
  }

  lineAt(offset: number): number {
    let low = 0
    let high = this.#starts.length - 1
    while (low < high) {
      const mid = Math.ceil((low + high) / 2)
      if ((this.#starts[mid] ?? 0) <= offset) low = mid
      else high = mid - 1
    }
    return low + 1
  }
}
