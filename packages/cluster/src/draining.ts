import type { Member } from '@meshcast/interface'

/**
 * The member-data key a node sets (to `true`) while it shuts down: routing
 * (`GET /cluster`) on every node stops sending clients to it at once,
 * a heartbeat before it leaves the view.
 */
export const DRAINING_KEY = 'draining'

export function isDraining(member: Member): boolean {
  return member.data[DRAINING_KEY] === true
}
