import { randomBytes } from 'node:crypto'

/**
 * A fresh id for each run of a node. A restarted node is a new member, as in
 * JGroups, so nothing is persisted.
 */
export function newNodeId(): string {
  return randomBytes(6).toString('hex')
}
