import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { assertSeeds, CRASH_FAULTS } from '../src/sim/index.ts'

describe('the mesh under simulated faults: more properties over random schedules', () => {
  test('300 schedules with crashes, restarts, leaves and joins only: every member has every message (bus and state transfer)', async (t) => {
    const { logChecked, runs } = await assertSeeds(t, 100_000, 300, { kinds: CRASH_FAULTS })
    t.diagnostic(
      `the replicated log was checked on ${logChecked} of ${runs} (the others had clusters that formed apart and merged)`,
    )
    if (process.env.SIM_SEED === undefined)
      assert.ok(logChecked >= runs * 0.8, `the log was checked on ${logChecked} of ${runs} schedules only`)
  })

  test('1,000 more schedules of 3-7 nodes with every kind of fault', async (t) => {
    await assertSeeds(t, 10_000, 1000)
  })

  test('10 schedules of 12-20 nodes with every kind of fault', async (t) => {
    await assertSeeds(t, 200_000, 10, { nodes: { min: 12, max: 20 } })
  })

  test('one schedule of 50 nodes', async (t) => {
    await assertSeeds(t, 300_000, 1, { nodes: { min: 50, max: 50 }, faultMs: 10_000 })
  })
})
