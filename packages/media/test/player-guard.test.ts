import assert from 'node:assert/strict'
import type net from 'node:net'
import { test } from 'node:test'
import { silentLogger } from '@meshcast/interface'
import { RtmpSession } from '../src/nms/nms.ts'
import { PlayerGuard, playerBacklog } from '../src/player-guard.ts'

function player(backlog: number): { session: RtmpSession; destroyed: () => boolean } {
  let destroyed = false
  const socket = {
    remoteAddress: '127.0.0.9',
    remotePort: 5000,
    writableLength: backlog,
    destroy: () => {
      destroyed = true
    },
  }
  return { session: new RtmpSession(socket as unknown as net.Socket), destroyed: () => destroyed }
}

test('players further behind than the limit are cut, the others and publishers kept', () => {
  const slow = player(9_000_000)
  const fine = player(1000)
  const publisher = player(9_000_000)
  publisher.session.isPublisher = true
  assert.equal(playerBacklog(slow.session), 9_000_000)
  new PlayerGuard(8_000_000, 1000, silentLogger).check([slow.session, fine.session, publisher.session])
  assert.deepEqual([slow.destroyed(), fine.destroyed(), publisher.destroyed()], [true, false, false])
})
