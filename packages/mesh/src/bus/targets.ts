import { type BusTarget, isAddressed, type Member, type Role } from '@meshcast/interface'
import { BusArgumentError } from '../errors.ts'
import type { WireTarget } from '../wire/frames.ts'

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

/** The target a wire target stands for. */
function fromWire(target: WireTarget): BusTarget {
  switch (target[0]) {
    case 'node':
      return { to: 'node', id: target[1] }
    case 'allBut':
      return { to: 'allBut', ids: target[1] }
    default:
      return { to: target[0] }
  }
}

/** Whether a member of `role` with `id` is addressed by `target`. */
export function addresses(target: WireTarget, id: string, role: Role): boolean {
  return isAddressed(fromWire(target), id, role)
}

/** The members of `view` a target addresses. */
export function resolve(target: WireTarget, members: readonly Member[]): Member[] {
  return members.filter((m) => addresses(target, m.id, m.role))
}
