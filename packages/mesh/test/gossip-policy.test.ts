import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { GOSSIP_SAFETY_EVERY, type GossipSituation, gossipNeeded } from '../src/membership/gossip-policy.ts'

/** A steady member B of the view [A, B, C], connected to both others, on a round with no safety beat. */
function steadyMember(over: Partial<GossipSituation> = {}): GossipSituation {
  return {
    selfId: 'B',
    joining: false,
    coordinator: false,
    connected: new Set(['A', 'C']),
    heard: ['A', 'B', 'C'],
    view: ['A', 'B', 'C'],
    announcers: ['A'],
    round: 2,
    ...over,
  }
}

describe('gossipNeeded', () => {
  test('a steady member with links to everyone keeps off gossip, but for the safety beat', () => {
    assert.equal(gossipNeeded(steadyMember()), false)
    const coordinator = { coordinator: true, selfId: 'A', announcers: [], connected: new Set(['B', 'C']) }
    assert.equal(gossipNeeded(steadyMember(coordinator)), false)
    assert.equal(gossipNeeded(steadyMember({ round: 1 })), true)
    assert.equal(gossipNeeded(steadyMember({ round: GOSSIP_SAFETY_EVERY + 1 })), true)
    assert.equal(gossipNeeded(steadyMember({ round: GOSSIP_SAFETY_EVERY })), false)
  })

  test('a node with no connection gossips (nothing else could reach anyone)', () => {
    assert.equal(gossipNeeded(steadyMember({ connected: new Set() })), true)
  })

  test('a joiner gossips until a coordinator is among its peers', () => {
    const joiner = { selfId: 'D', joining: true, heard: ['D'], view: ['D'], announcers: [] }
    assert.equal(
      gossipNeeded(steadyMember({ ...joiner, connected: new Set(['C']) })),
      true,
      'its seed C leads nothing',
    )
    // connected to the coordinator A, which has not admitted it yet: A is outside its own one-member view
    assert.equal(
      gossipNeeded(steadyMember({ ...joiner, connected: new Set(['A']), announcers: ['A'] })),
      true,
    )
    const admitted = {
      connected: new Set(['A', 'B', 'C']),
      heard: ['A', 'B', 'C', 'D'],
      view: ['A', 'B', 'C', 'D'],
    }
    assert.equal(gossipNeeded(steadyMember({ ...joiner, ...admitted, announcers: ['A'] })), false)
  })

  test('a peer outside the view, connected or heard, makes gossip: a partition to merge or an admission under way', () => {
    assert.equal(gossipNeeded(steadyMember({ connected: new Set(['A', 'C', 'X']) })), true)
    assert.equal(gossipNeeded(steadyMember({ heard: ['A', 'B', 'C', 'X'] })), true)
  })

  test('a coordinator gossips while a member of its view has no connection to it', () => {
    const coordinator = steadyMember({
      selfId: 'A',
      coordinator: true,
      announcers: [],
      connected: new Set(['B']),
    })
    assert.equal(gossipNeeded(coordinator), true)
    assert.equal(gossipNeeded({ ...coordinator, coordinator: false }), false, 'a member does not')
  })
})
