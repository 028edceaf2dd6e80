import { randomInt } from 'node:crypto'

/**
 * A random 127.a.b.0/24 for one test's nodes. Every address in 127/8 is
 * loopback on Linux, so each node binds the default ports on its own address,
 * and tests running side by side do not collide.
 */
export function loopbackSubnet(): (index: number) => string {
  const a = randomInt(1, 255)
  const b = randomInt(0, 256)
  return (index: number) => {
    if (index < 0 || index > 252) throw new RangeError(`node index ${index} outside 0..252`)
    return `127.${a}.${b}.${index + 2}`
  }
}

/** A password no other test uses: the password is the cluster. */
export function uniquePassword(): string {
  return `test-${randomInt(0, 2 ** 40).toString(36)}`
}
