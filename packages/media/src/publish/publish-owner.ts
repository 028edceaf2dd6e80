/**
 * Who provides each published stream (the owner tag of its publisher's
 * checked credentials), by its NMS session: node-media-server keeps no
 * such field, and the publisher's session is what a stream's info is made from.
 */
const owners = new WeakMap<object, string>()

/** Records the owner of a publish allowed on `session` (nothing for a publish that needed no credentials). */
export function setPublishOwner(session: object, owner: string | null): void {
  if (owner === null) owners.delete(session)
  else owners.set(session, owner)
}

export function publishOwner(session: object): string | null {
  return owners.get(session) ?? null
}
