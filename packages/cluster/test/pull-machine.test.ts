// The pull state machine alone: events in, the next state and effects out. No controller, no
// timers, no promises: each test is a list of steps.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { Carrier } from '../src/index.ts'
import { initialPull, step } from '../src/pull/machine.ts'
import type { Effect, PullEvent, PullSettings, PullState, World } from '../src/pull/types.ts'
import { advert, member } from './fixtures.ts'

const SETTINGS: PullSettings = {
  selfId: 'edge',
  streamOnDemand: false,
  lingerMs: 50,
  waitMs: 80,
  retryMs: 10_000,
  repullFirstMs: 500,
  kickOnUnpublish: false,
  ownerHoldMs: 30_000,
}
const o1 = member('n1')
const o2 = member('n2')
const url = (n: number) => `rtmp://10.0.0.${n}:1935/live/a`
const carrier = (m = o1, over = {}): Carrier => ({ member: m, advert: advert(m, '/live/a', over) })

function world(upstreams: Carrier[], over: Partial<World> = {}): World {
  return {
    upstreams,
    members: upstreams.map((c) => c.member),
    origins: [],
    foreign: [],
    subscribers: 0,
    now: 1_000_000,
    ...over,
  }
}

/** Deep-freezes a state: a step that changed its input would throw. */
function frozen<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) frozen(v)
    Object.freeze(value)
  }
  return value
}

/** Runs `events` from `state` in the given worlds; the last state and every effect but the logs. */
function run(state: PullState, ...steps: [PullEvent, World][]): { state: PullState; effects: Effect[] } {
  const effects: Effect[] = []
  for (const [event, w] of steps) {
    const next = step(SETTINGS, frozen(state), event, w)
    effects.push(...next.effects.filter((e) => e.type !== 'log'))
    state = next.state
  }
  return { state, effects }
}

const both = world([carrier(o1, { since: 1 }), carrier(o2, { since: 2 })])

describe('pull state machine', () => {
  test('opened with nobody advertising: waiting, the retry armed for retryMs, and the linger (no upstream, no player)', () => {
    const { state, effects } = run(initialPull('/live/a'), [{ type: 'open' }, world([])])
    assert.deepEqual(state.phase, { kind: 'waiting', lostFrom: null })
    assert.deepEqual(effects, [
      { type: 'arm', timer: 'retry', ms: 10_000 },
      { type: 'arm', timer: 'linger', ms: 50 },
    ])
    assert.deepEqual(state.timers, { retry: true, linger: true, wait: false })
  })

  test('the best upstream is tried; its media makes the pull live and counts a start; a stale result is ignored', () => {
    const tried = run(initialPull('/live/a'), [{ type: 'open' }, both])
    assert.deepEqual(tried.effects, [{ type: 'pull', attempt: 1, url: url(1) }])
    assert.equal(tried.state.phase.kind, 'trying')
    const live = run(
      tried.state,
      [{ type: 'pulled', attempt: 1 }, both],
      [{ type: 'pulled', attempt: 1 }, both],
    )
    assert.equal(live.state.phase.kind, 'live')
    assert.deepEqual(live.effects, [{ type: 'count', counter: 'started' }, { type: 'changed' }])
    assert.equal(live.state.since, 1_000_000)
    const stale = run(live.state, [{ type: 'failed', attempt: 1, error: 'late' }, both])
    assert.deepEqual(stale.effects, [])
    assert.deepEqual(stale.state, live.state)
  })

  test('a refusal moves to the next candidate in the same round; the refuser is avoided until a success', () => {
    const { state, effects } = run(
      initialPull('/live/a'),
      [{ type: 'open' }, both],
      [{ type: 'failed', attempt: 1, error: 'connection refused' }, both],
    )
    assert.deepEqual(effects, [
      { type: 'pull', attempt: 1, url: url(1) },
      { type: 'count', counter: 'failed' },
      { type: 'pull', attempt: 2, url: url(2) },
    ])
    assert.deepEqual(state.avoid, ['n1'])
    const live = run(state, [{ type: 'pulled', attempt: 2 }, both])
    assert.deepEqual(live.state.avoid, [])
  })

  test('a lost upstream: at once to the other; its media counts a failover', () => {
    const live = run(initialPull('/live/a'), [{ type: 'open' }, both], [{ type: 'pulled', attempt: 1 }, both])
    const lost = run(live.state, [{ type: 'down', reason: 'closed', detail: 'socket closed' }, both])
    assert.deepEqual(lost.effects, [{ type: 'changed' }, { type: 'pull', attempt: 2, url: url(2) }])
    assert.deepEqual(lost.state.phase.kind === 'trying' && lost.state.phase.lostFrom, 'n1')
    assert.equal(lost.state.repulls, 0, 'a live upstream cut: re-pulls back off')
    const again = run(lost.state, [{ type: 'pulled', attempt: 2 }, both])
    assert.deepEqual(again.effects, [{ type: 'count', counter: 'failovers' }, { type: 'changed' }])
  })

  test('a withdrawn advert with an alternative is make-before-break; if the alternative fails, the upstream is lost', () => {
    const live = run(initialPull('/live/a'), [{ type: 'open' }, both], [{ type: 'pulled', attempt: 1 }, both])
    const onlyO2 = world([carrier(o2, { since: 2 })])
    const switching = run(live.state, [{ type: 'withdrawn', node: 'n1' }, onlyO2])
    assert.equal(switching.state.phase.kind, 'switching')
    assert.deepEqual(switching.effects, [{ type: 'pull', attempt: 2, url: url(2) }], 'no loss yet')
    const failed = run(switching.state, [{ type: 'failed', attempt: 2, error: 'refused' }, onlyO2])
    assert.deepEqual(failed.state.phase, { kind: 'waiting', lostFrom: 'n1' })
    assert.deepEqual(failed.effects, [
      { type: 'count', counter: 'failed' },
      { type: 'changed' },
      { type: 'arm', timer: 'retry', ms: 10_000 },
      { type: 'arm', timer: 'linger', ms: 50 },
    ])
  })

  test('a quiet upstream that resumes first stays, with nothing counted against the alternative', () => {
    const live = run(initialPull('/live/a'), [{ type: 'open' }, both], [{ type: 'pulled', attempt: 1 }, both])
    const quiet = run(live.state, [{ type: 'quiet', detail: 'no media for 264 ms' }, both])
    assert.deepEqual(quiet.effects, [{ type: 'pull', attempt: 2, url: url(2) }])
    const resumed = run(quiet.state, [{ type: 'resumed', attempt: 2, error: 'resumed' }, both])
    assert.equal(resumed.state.phase.kind, 'live')
    assert.deepEqual(resumed.effects, [])
    assert.deepEqual(resumed.state.avoid, [])
  })

  test('an advert during an attempt is weighed when the round ends: a listed origin is then taken', () => {
    const settings = { ...SETTINGS }
    const origins = [{ host: '10.0.0.1', port: 1935 }]
    const onlyO2 = world([carrier(o2)], { origins })
    const withO1 = world([carrier(o2), carrier(o1)], { origins })
    let s = step(settings, initialPull('/live/a'), { type: 'open' }, onlyO2).state
    const during = step(settings, s, { type: 'advertised', node: 'n1' }, withO1)
    assert.deepEqual(
      during.effects.filter((e) => e.type !== 'log'),
      [],
      'nothing while connecting',
    )
    s = during.state
    const ended = step(settings, s, { type: 'pulled', attempt: 1 }, withO1)
    assert.deepEqual(
      ended.effects.filter((e) => e.type === 'pull'),
      [{ type: 'pull', attempt: 2, url: url(1) }],
    )
    assert.equal(ended.state.phase.kind, 'switching')
  })

  test('on demand: a player waits at most waitMs, then is kicked; the pull lingers and ends with no players', () => {
    const settings = { ...SETTINGS, streamOnDemand: true }
    const none = world([])
    let s = step(settings, initialPull('/live/a'), { type: 'open' }, none).state
    const played = step(settings, s, { type: 'play' }, world([], { subscribers: 1 }))
    assert.deepEqual(
      played.effects.filter((e) => e.type !== 'log'),
      [
        { type: 'disarm', timer: 'linger' },
        { type: 'arm', timer: 'wait', ms: 80 },
      ],
      'a player stops the linger armed at open',
    )
    const kicked = step(
      settings,
      played.state,
      { type: 'timer', name: 'wait' },
      world([], { subscribers: 1 }),
    )
    assert.deepEqual(
      kicked.effects.filter((e) => e.type !== 'log'),
      [
        { type: 'kick', why: 'stream not published within 0 s' },
        { type: 'arm', timer: 'linger', ms: 50 },
      ],
    )
    // players are counted when the linger fires: the kicked one may not have gone yet
    s = step(settings, kicked.state, { type: 'timer', name: 'linger' }, world([], { subscribers: 1 })).state
    assert.equal(s.phase.kind, 'waiting')
    s = step(settings, s, { type: 'leave' }, none).state
    assert.equal(s.timers.linger, true, 'the last player left: the linger again')
    const ended = step(settings, s, { type: 'timer', name: 'linger' }, none)
    assert.equal(ended.state.phase.kind, 'closed')
    assert.deepEqual(
      ended.effects.filter((e) => e.type !== 'log'),
      [{ type: 'disarm', timer: 'retry' }, { type: 'close', kick: false }, { type: 'changed' }],
    )
    const after = step(settings, ended.state, { type: 'open' }, both)
    assert.deepEqual(after.effects, [], 'a closed pull does nothing')
  })

  test("an owner's pull passes over another owner's copy, reported once", () => {
    const studio = world([carrier(o1, { owner: 'studio' })])
    const live = run(
      initialPull('/live/a'),
      [{ type: 'open' }, studio],
      [{ type: 'pulled', attempt: 1 }, studio],
    )
    assert.equal(live.state.owner, 'studio')
    const mixed = world([carrier(o1, { owner: 'studio' }), carrier(o2, { owner: 'stranger', since: 0 })])
    const seen = run(
      live.state,
      [{ type: 'advertised', node: 'n2' }, mixed],
      [{ type: 'advertised', node: 'n2' }, mixed],
    )
    assert.deepEqual(seen.effects, [{ type: 'count', counter: 'ignoredCopies' }])
    const lost = run(seen.state, [
      { type: 'down', reason: 'closed', detail: 'gone' },
      world([carrier(o2, { owner: 'stranger' })]),
    ])
    assert.ok(!lost.effects.some((e) => e.type === 'pull'), 'the stranger is not pulled within the hold')
  })
})
