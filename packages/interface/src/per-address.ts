/**
 * Counts what each remote address holds (connections, usually) against a
 * cap, so one address cannot take every place. Shared by the RTMP and HTTP
 * listeners. A cap of 0 counts nothing and refuses nothing.
 */
export class PerAddress {
  readonly #cap: number
  readonly #held = new Map<string, number>()

  constructor(cap: number) {
    this.#cap = cap
  }

  /** Takes a place for `address`; false (and nothing taken) when it holds `cap` already. */
  take(address: string | undefined): boolean {
    if (this.#cap <= 0) return true
    const key = remoteHost(address)
    const held = this.#held.get(key) ?? 0
    if (held >= this.#cap) return false
    this.#held.set(key, held + 1)
    return true
  }

  /** Gives back a place `take` gave (once per place). */
  give(address: string | undefined): void {
    if (this.#cap <= 0) return
    const key = remoteHost(address)
    const held = this.#held.get(key) ?? 0
    if (held <= 1) this.#held.delete(key)
    else this.#held.set(key, held - 1)
  }

  /** Places held by `address` now. */
  held(address: string | undefined): number {
    return this.#held.get(remoteHost(address)) ?? 0
  }

  get cap(): number {
    return this.#cap
  }
}

/** A socket's remote address as one key per host: an IPv4 client on a dual-stack socket shows as `::ffff:a.b.c.d`. */
export function remoteHost(address: string | undefined): string {
  if (address === undefined || address === '') return '?'
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice('::ffff:'.length) : address
}
