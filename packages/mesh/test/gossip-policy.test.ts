import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { GOSSIP_SAFETY_EVERY, type GossipSituation, gossipNeeded } from '../src/membership/gossip-policy.ts'

/** A settled member B of the view [A, B, C], connected to both others, on a round with no safety beat. */
function settled(over: Partial<GossipSituation> = {}): GossipSituation {
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
  test('a settled member with links to everyone keeps off gossip, but for the safety beat', () => {
    assert.equal(gossipNeeded(settled()), false)
    const coordinator = { coordinator: true, selfId: 'A', announcers: [], connected: new Set(['B', 'C']) }
    assert.equal(gossipNeeded(settled(coordinator)), false)
    assert.equal(gossipNeeded(settled({ round: 1 })), true)
    assert.equal(gossipNeeded(settled({ round: GOSSIP_SAFETY_EVERY + 1 })), true)
    assert.equal(gossipNeeded(settled({ round: GOSSIP_SAFETY_EVERY })), false)
  })

  test('a node with no connection gossips (nothing else could reach anyone)', () => {
    assert.equal(gossipNeeded(settled({ connected: new Set() })), true)
  })

  test('a joiner gossips until a coordinator is among its peers', () => {
    const joiner = { selfId: 'D', joining: true, heard: ['D'], view: ['D'], announcers: [] }
    assert.equal(
      gossipNeeded(settled({ ...joiner, connected: new Set(['C']) })),
      true,
      'its seed C leads nothing',
    )
    // connected to the coordinator A, which has not admitted it yet: A is outside its own one-member view
    assert.equal(gossipNeeded(settled({ ...joiner, connected: new Set(['A']), announcers: ['A'] })), true)
    const admitted = {
      connected: new Set(['A', 'B', 'C']),
      heard: ['A', 'B', 'C', 'D'],
      view: ['A', 'B', 'C', 'D'],
    }
    assert.equal(gossipNeeded(settled({ ...joiner, ...admitted, announcers: ['A'] })), false)
  })

  test('a peer outside the view, connected or heard, makes gossip: a partition to merge or an admission under way', () => {
    assert.equal(gossipNeeded(settled({ connected: new Set(['A', 'C', 'X']) })), true)
    assert.equal(gossipNeeded(settled({ heard: ['A', 'B', 'C', 'X'] })), true)
  })

  test('a coordinator gossips while a member of its view has no connection to it', () => {
    const coordinator = settled({ selfId: 'A', coordinator: true, announcers: [], connected: new Set(['B']) })
    assert.equal(gossipNeeded(coordinator), true)
    assert.equal(gossipNeeded({ ...coordinator, coordinator: false }), false, 'a member does not')
  })
})
