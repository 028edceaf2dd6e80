// The soak's short version (bench/soak.ts runs it for 30 minutes): 3 minutes of streams, player
// churn, chat and HTTP on 2 origins and 2 edges; every node's RSS stays flat within 10 % after
// a 60 s warm-up, no node exits, and the chat reaches every node.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { runSoak } from '@meshcast/testing'

test('a 3-minute soak: every node stays up and its memory flat within 10 %', {
  timeout: 300_000,
}, async () => {
  const result = await runSoak({ durationMs: 180_000, warmupMs: 60_000, sampleMs: 5000 })
  for (const n of result.nodes)
    process.stdout.write(
      `# soak ${n.name}: RSS ${n.startMiB.toFixed(0)} -> ${n.endMiB.toFixed(0)} MiB (max ${n.maxMiB.toFixed(0)}), drift ${(n.drift * 100).toFixed(1)} %\n`,
    )
  process.stdout.write(
    `# soak: ${result.playersCycled} players cycled; chat ${result.chatDelivered}/${result.chatSent}; HTTP ${result.httpAnswered}/${result.httpAsked}\n`,
  )
  assert.deepEqual(result.exited, [])
  for (const n of result.nodes)
    assert.ok(n.drift <= 0.1, `${n.name}: RSS grew ${(n.drift * 100).toFixed(1)} %`)
  assert.ok(result.playersCycled >= 15, `${result.playersCycled} players cycled`)
  assert.ok(
    result.chatSent > 0 && result.chatDelivered === result.chatSent,
    'every chat message reached every node',
  )
  assert.equal(result.httpAnswered, result.httpAsked)
})
