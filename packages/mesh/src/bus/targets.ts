import type { BusTarget, Member, Role } from '@meshcast/interface'
import { BusArgumentError } from '../errors.ts'
import type { WireTarget } from '../wire/frames.ts'

function isOrigin(role: Role): boolean {
  return role === 'origin'
}

/** Edges serve subscribers: relays are edges other edges pull from. */
function isEdge(role: Role): boolean {
  return role === 'edge' || role === 'relay'
}

export function toWire(target: BusTarget): WireTarget {
  switch (target?.to) {
    case 'all':
      return ['all']
    case 'origins':
      return ['origins']
    case 'edges':
      return ['edges']
    case 'node':
      if (typeof target.id !== 'string' || target.id === '') break
      return ['node', target.id]
    case 'allBut':
      if (!Array.isArray(target.ids)) break
      return ['allBut', [...target.ids]]
  }
  throw new BusArgumentError(
    `bad bus target ${JSON.stringify(target)}: use {to:'all'}, {to:'origins'}, {to:'edges'}, {to:'node', id} or {to:'allBut', ids}`,
  )
}

/** Whether a member of `role` with `id` is addressed by `target`. */
export function addresses(target: WireTarget, id: string, role: Role): boolean {
  switch (target[0]) {
    case 'all':
      return true
    case 'origins':
      return isOrigin(role)
    case 'edges':
      return isEdge(role)
    case 'node':
      return target[1] === id
    case 'allBut':
      return !target[1].includes(id)
  }
}

/** The members of `view` a target addresses. */
export function resolve(target: WireTarget, members: readonly Member[]): Member[] {
  return members.filter((m) => addresses(target, m.id, m.role))
}
