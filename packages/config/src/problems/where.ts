/** `file:line`, or `file` when the line is unknown, as warnings start. */
export function where(file: string, line: number | undefined): string {
  return line === undefined ? file : `${file}:${line}`
}
