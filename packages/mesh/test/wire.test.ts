import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { Random } from '../src/sim/random.ts'
import {
  decodeDirectFrame,
  decodeTopicFrame,
  encodeBusFrame,
  encodeFrame,
  encodeRetransmitFrame,
} from '../src/wire/codec.ts'
import type { HeartbeatFrame } from '../src/wire/frames.ts'

const ID = '12D3KooWCFULBTh1bD33RYVop7t5QxMHWELCn9sWVqweFknoTPwT'
const ID2 = '12D3KooWL593BTsbJYj9gfjckeeAaSYhiYrqsnAbQvqzAbTdKx7P'
const LIMIT = 300_000

function heartbeat(): HeartbeatFrame {
  return {
    v: 1,
    k: 'hb',
    n: 7,
    member: {
      id: ID,
      role: 'origin',
      publicIp: '10.0.0.2',
      publicPort: 1935,
      http: '10.0.0.2:5080',
      mesh: '10.0.0.2:7800',
      privateInstance: false,
      startedAt: 1_700_000_000_000,
      load: { subscribers: 3, streams: 1 },
      data: { streams: ['live/a'] },
    },
    seq: 12,
    acks: { [ID2]: 4 },
    joined: { [ID2]: 1 },
    view: { counter: 3, members: [ID, ID2], sides: [[ID], [ID2]] },
    side: 'Cccccc:3',
  }
}

const busBytes = () =>
  encodeBusFrame(ID, [
    '{"s":1,"t":["all"],"c":"chat","d":{"text":"hi"}}',
    `{"s":2,"t":["node","${ID2}"],"q":{"i":1,"m":"chat.history","a":null}}`,
    `{"s":3,"t":["allBut",["${ID2}"]],"p":{"i":9,"ok":false,"e":{"name":"Error","message":"no"}}}`,
  ])

describe('wire codec', () => {
  test('a heartbeat survives encode and decode unchanged', () => {
    const decoded = decodeTopicFrame(encodeFrame(heartbeat()), LIMIT)
    assert.deepEqual(decoded, { ok: true, frame: heartbeat() })
  })

  test('a bus batch of data, request and reply envelopes decodes', () => {
    const decoded = decodeTopicFrame(busBytes(), LIMIT)
    assert.equal(decoded.ok, true)
    if (!decoded.ok || decoded.frame.k !== 'bus') return
    assert.equal(decoded.frame.msgs.length, 3)
    assert.deepEqual(decoded.frame.msgs[0], { s: 1, t: ['all'], c: 'chat', d: { text: 'hi' } })
  })

  test('direct frames decode: nak, retransmission, ack, leave, state', () => {
    for (const f of [
      { v: 1, k: 'nak', from: ID, ranges: [[1, 4]] },
      { v: 1, k: 'ack', from: ID, seq: 10 },
      { v: 1, k: 'leave', from: ID },
      { v: 1, k: 'state?', from: ID },
      { v: 1, k: 'state?', from: ID, names: ['app/chatr/room'] },
      { v: 1, k: 'state', from: ID, state: { chat: [1, 2] }, digest: { [ID2]: 3 } },
    ] as const) {
      assert.deepEqual(decodeDirectFrame(encodeFrame(f as never), LIMIT), { ok: true, frame: f })
    }
    const rtx = decodeDirectFrame(encodeRetransmitFrame(ID, 2, ['{"s":2,"t":["all"],"c":"x","d":1}']), LIMIT)
    assert.equal(rtx.ok, true)
  })

  test('oversize, malformed and invalid frames are refused with a reason', () => {
    assert.equal(decodeTopicFrame(new Uint8Array(LIMIT + 1), LIMIT).ok, false)
    const cases: [string, string][] = [
      ['{"v":1,"k":"hb"', 'malformed'],
      ['\u00ff\u00fe', 'malformed'],
      ['[]', 'invalid'],
      ['{"v":2,"k":"hb"}', 'invalid'],
      ['{"v":1,"k":"nope"}', 'invalid'],
      [`{"v":1,"k":"bus","from":"${ID}","msgs":[]}`, 'invalid'],
      [
        `{"v":1,"k":"bus","from":"${ID}","msgs":[{"s":2,"t":["all"],"c":"a","d":1},{"s":1,"t":["all"],"c":"a","d":1}]}`,
        'invalid',
      ],
      [`{"v":1,"k":"bus","from":"${ID}","msgs":[{"s":0,"t":["all"],"c":"a","d":1}]}`, 'invalid'],
      [`{"v":1,"k":"bus","from":"${ID}","msgs":[{"s":1,"t":["everyone"],"c":"a","d":1}]}`, 'invalid'],
      [`{"v":1,"k":"bus","from":"${ID}","msgs":[{"s":1,"t":["all"],"c":"bad channel","d":1}]}`, 'invalid'],
      [`{"v":1,"k":"bus","from":"x","msgs":[{"s":1,"t":["all"],"c":"a","d":1}]}`, 'invalid'],
      [`{"v":1,"k":"leave","from":"${ID}<script>"}`, 'invalid'],
    ]
    for (const [text, reason] of cases) {
      const d = decodeTopicFrame(new TextEncoder().encode(text), LIMIT)
      assert.equal(d.ok, false, text)
      if (!d.ok) assert.equal(d.reason, reason, `${text}: ${d.detail}`)
    }
    // a merge's sides name members of the view, each once; a pull names states as names
    for (const sides of [[[ID], [ID]], [[ID, 'ZZZZZZZZzzzz']], 'all']) {
      const bad = { ...heartbeat(), view: { counter: 3, members: [ID, ID2], sides } }
      assert.equal(decodeTopicFrame(encodeFrame(bad as never), LIMIT).ok, false, JSON.stringify(sides))
    }
    const badPull = decodeDirectFrame(
      new TextEncoder().encode(`{"v":1,"k":"state?","from":"${ID}","names":["a b"]}`),
      LIMIT,
    )
    assert.equal(badPull.ok, false)
    const hb = heartbeat() as unknown as { member: { role: string } }
    hb.member.role = 'king'
    const d = decodeTopicFrame(encodeFrame(hb as never), LIMIT)
    assert.equal(d.ok, false)
    if (!d.ok) assert.match(d.detail, /member\.role/)
  })

  test('fuzz: random and mutated bytes never throw, and whatever is accepted is well formed', (t) => {
    // seeded: a failure replays with WIRE_FUZZ_SEED
    const seed = Number(process.env.WIRE_FUZZ_SEED ?? Date.now() % 2 ** 32)
    t.diagnostic(`seed ${seed} (WIRE_FUZZ_SEED=${seed} replays it)`)
    const random = new Random(seed)
    const seeds = [
      encodeFrame(heartbeat()),
      busBytes(),
      encodeFrame({ v: 1, k: 'nak', from: ID, ranges: [[1, 9]] }),
    ]
    let accepted = 0
    const rounds = 20_000
    for (let round = 0; round < rounds; round++) {
      let bytes: Uint8Array
      if (round % 4 === 0) bytes = Uint8Array.from({ length: random.int(0, 299) }, () => random.int(0, 255))
      else {
        const seed = seeds[round % seeds.length] as Uint8Array
        bytes = Uint8Array.from(seed)
        const flips = random.int(1, 4)
        for (let f = 0; f < flips; f++) {
          const at = Math.floor(random.next() * bytes.length)
          const mode = random.next()
          if (mode < 0.5) bytes[at] = random.int(0, 255)
          else if (mode < 0.75)
            bytes = bytes.subarray(0, at) // truncate
          else bytes = Uint8Array.from([...bytes.subarray(0, at), ...bytes.subarray(at + 1)]) // delete
        }
      }
      for (const decode of [decodeTopicFrame, decodeDirectFrame]) {
        const d = decode(bytes, LIMIT)
        if (!d.ok) {
          assert.ok(['oversize', 'malformed', 'invalid'].includes(d.reason))
          continue
        }
        accepted++
        assert.equal(d.frame.v, 1)
        assert.equal(typeof d.frame.k, 'string')
        if (d.frame.k === 'bus')
          for (const m of d.frame.msgs) assert.ok(Number.isInteger(m.s) && m.s >= 1 && Array.isArray(m.t))
      }
    }
    // Mutations that only touch a string's letters stay valid: some must get through, most must not.
    assert.ok(accepted > 0 && accepted < rounds, `accepted ${accepted}`)
  })
})
