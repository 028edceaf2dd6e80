import { createHmac, hkdfSync } from 'node:crypto'

/** A redundancy group: publishers whose copies of a stream name are one stream (`auth.group.<name>`). */
export interface PublishGroup {
  name: string
  users: readonly string[]
}

/** The longest group name a roundtrip endpoint may answer. */
export const MAX_GROUP = 64

/**
 * Who provides a stream, as its advert says it: the publisher's redundancy
 * group, or the user when in none, as an opaque tag. Keyed by the cluster
 * password, so every member tags alike and a reader of `/api/streams` learns
 * no user name. 128 bits, base64url (22 characters).
 */
export class OwnerTags {
  readonly #key: Buffer
  readonly #groupOf: ReadonlyMap<string, string>

  constructor(clusterPassword: string, groups: readonly PublishGroup[]) {
    this.#key = Buffer.from(hkdfSync('sha256', clusterPassword, 'meshcast', 'meshcast stream owner', 32))
    this.#groupOf = new Map(groups.flatMap((g) => g.users.map((u) => [u, g.name] as const)))
  }

  /** The tag of a publish by `user` (empty for a token alone); `group`, when given, wins over the configured one. */
  of(user: string, group?: string): string {
    const owner = group ?? this.#groupOf.get(user)
    const text = owner === undefined ? `user\0${user}` : `group\0${owner}`
    return createHmac('sha256', this.#key).update(text).digest().subarray(0, 16).toString('base64url')
  }
}
