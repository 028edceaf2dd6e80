export async function main(argv: string[]): Promise<number> {
  console.log('hello', process.version, argv.slice(2))
  return 0
}
