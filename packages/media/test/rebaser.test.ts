import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { type Anchor, Rebaser, type RebaserPacket } from '../src/pull/rebaser.ts'

const AUDIO = 8
const VIDEO = 9

function packet(codec_type: number, flags: number, dts: number, pts: number, body: string): RebaserPacket {
  const data = Buffer.from(body)
  return { codec_type, flags, dts, pts, data, size: data.length }
}

const audioHeader = () => packet(AUDIO, 0, 0, 0, 'aac-config')
const videoHeader = () => packet(VIDEO, 2, 0, 0, 'avc-config')
const metadata = () => packet(18, 5, 0, 0, 'onMetaData')
const audio = (dts: number, source = 's') => packet(AUDIO, 1, dts, dts, `${source}:a:${dts}`)

/**
 * Video at 25 fps with B-frames (decode order I P B B P B B ...; pts = dts
 * + up to 160 ms), a keyframe every second, as `source` encodes it: two
 * upstreams of one source carry byte-identical frames at equal timestamps.
 */
function video(from: number, to: number, source = 's'): RebaserPacket[] {
  const out: RebaserPacket[] = []
  for (let dts = from; dts < to; dts += 40) {
    const k = Math.round(dts / 40) % 25
    const key = k === 0
    // display index within the GOP for decode index k
    const group = Math.floor((k - 1) / 3)
    const display = key ? 0 : ([3 * group + 3, 3 * group + 1, 3 * group + 2][(k - 1) % 3] ?? 0)
    const pts = dts - k * 40 + display * 40 + 80
    out.push(packet(VIDEO, key ? 3 : 4, dts, pts, `${source}:v:${dts}`))
  }
  return out
}

/** An upstream's packets from `from` (ms) for `ms`: headers, then video and audio interleaved by dts. */
function upstream(
  from: number,
  ms: number,
  opts: { source?: string; audio?: boolean; video?: boolean } = {},
) {
  const source = opts.source ?? 's'
  const frames: RebaserPacket[] = []
  if (opts.video !== false) frames.push(...video(from, from + ms, source))
  if (opts.audio !== false) for (let t = from; t < from + ms; t += 23) frames.push(audio(t, source))
  frames.sort((a, b) => a.dts - b.dts)
  const headers = [
    metadata(),
    ...(opts.audio === false ? [] : [audioHeader()]),
    ...(opts.video === false ? [] : [videoHeader()]),
  ]
  return [...headers, ...frames]
}

interface Out {
  p: RebaserPacket
  dts: number
  pts: number
}

function run(r: Rebaser, packets: RebaserPacket[]): Out[] {
  const out: Out[] = []
  for (const p of packets) {
    const dts = r.map(p)
    if (dts !== null) out.push({ p, dts, pts: p.pts + (dts - p.dts) })
  }
  return out
}

const frames = (out: Out[], track: number) =>
  out.filter((o) => o.p.codec_type === track && (o.p.flags === 1 || o.p.flags === 3 || o.p.flags === 4))

function assertIncreasing(out: Out[]): void {
  for (const track of [AUDIO, VIDEO]) {
    const dts = frames(out, track).map((o) => o.dts)
    for (let i = 1; i < dts.length; i++) {
      assert.ok((dts[i] ?? 0) > (dts[i - 1] ?? 0), `track ${track}: dts ${dts[i - 1]} then ${dts[i]}`)
    }
  }
}

/** The video frames after a switch present after every frame before it. */
function assertPtsAfter(before: Out[], after: Out[]): void {
  const last = Math.max(...frames(before, VIDEO).map((o) => o.pts))
  const first = Math.min(...frames(after, VIDEO).map((o) => o.pts))
  assert.ok(first > last, `first pts after the switch ${first} <= last before ${last}`)
}

function rebaser(): { r: Rebaser; anchors: Anchor[] } {
  const anchors: Anchor[] = []
  return { r: new Rebaser({ onAnchor: (a) => anchors.push(a) }), anchors }
}

describe('Rebaser', () => {
  test('the first upstream keeps its timestamps, B-frame pts included', () => {
    const { r, anchors } = rebaser()
    const out = run(r, upstream(5000, 3000))
    for (const o of frames(out, VIDEO).concat(frames(out, AUDIO))) {
      assert.equal(o.dts, o.p.dts)
      assert.equal(o.pts, o.p.pts)
    }
    assert.deepEqual(
      anchors.map((a) => [a.kind, a.inDts, a.outDts]),
      [['first', 5000, 5000]],
    )
    assertIncreasing(out)
  })

  test('headers and metadata are stamped with the newest output dts; nothing before a keyframe passes', () => {
    const { r } = rebaser()
    assert.equal(r.map(metadata()), 0)
    assert.equal(r.map(videoHeader()), 0)
    // joined mid-GOP: inter frames and the audio beside them wait for the keyframe
    const mid = video(5040, 6000)
      .concat([audio(5050)])
      .sort((a, b) => a.dts - b.dts)
    assert.deepEqual(
      mid.map((p) => r.map(p)),
      mid.map(() => null),
    )
    assert.equal(r.map(video(6000, 6040)[0] as RebaserPacket), 6000)
    assert.equal(r.map(audio(6010)), 6010)
    assert.equal(r.map(audioHeader()), 6010)
    assert.equal(r.map(videoHeader()), 6000)
    assert.equal(r.map(metadata()), 6010)
    assert.ok(r.stats.droppedWaitingKey >= mid.length)
  })

  test('a new timeline is appended right after the last dts and the last pts', () => {
    const { r, anchors } = rebaser()
    const before = run(r, upstream(0, 3000, { source: 'a' }))
    r.switchUpstream()
    const after = run(r, upstream(100_000, 3000, { source: 'b' }))
    assert.equal(anchors[1]?.kind, 'new-timeline')
    assertIncreasing([...before, ...after])
    assertPtsAfter(before, after)
    const firstVideo = frames(after, VIDEO)[0]
    assert.equal(firstVideo?.p.flags, 3, 'the new upstream starts at its keyframe')
    // no more than a couple of frame steps (plus the B-frame delay) between the two timelines
    const lastBefore = Math.max(...frames(before, VIDEO).map((o) => o.dts))
    assert.ok((firstVideo?.dts ?? 0) - lastBefore <= 40 * 5, `gap ${(firstVideo?.dts ?? 0) - lastBefore}`)
  })

  test('a new timeline anchors on pts too when the last frames present far after their dts', () => {
    const { r } = rebaser()
    r.map(videoHeader())
    assert.equal(r.map(packet(VIDEO, 3, 0, 0, 'k')), 0)
    assert.equal(r.map(packet(VIDEO, 4, 40, 240, 'p')), 40) // presents 200 ms after its dts
    r.switchUpstream()
    r.map(videoHeader())
    const kf = packet(VIDEO, 3, 50_000, 50_000, 'k2') // another timeline
    const dts = r.map(kf)
    assert.ok(dts !== null && dts > 40)
    assert.ok(
      kf.pts + (dts - kf.dts) > 240,
      `the keyframe presents at ${kf.pts + (dts - kf.dts)}, before 240`,
    )
  })

  test('an upstream on the same timeline that is ahead continues it unchanged', () => {
    const { r, anchors } = rebaser()
    const before = run(r, upstream(0, 3000))
    r.switchUpstream()
    const after = run(r, upstream(4000, 2000))
    assert.equal(anchors[1]?.kind, 'continue')
    assert.equal(anchors[1]?.offset, 0)
    for (const o of frames(after, VIDEO)) assert.equal(o.dts, o.p.dts)
    assertIncreasing([...before, ...after])
  })

  test('an identical upstream behind is spliced mid-GOP: nothing repeated, nothing lost', () => {
    const { r, anchors } = rebaser()
    const before = run(r, upstream(0, 3500))
    r.switchUpstream()
    // its GOP cache starts at the keyframe at 3000, 500 ms behind what players have
    const after = run(r, upstream(3000, 2000))
    assert.equal(anchors[1]?.kind, 'splice')
    const all = [...before, ...after]
    assertIncreasing(all)
    const videoDts = frames(all, VIDEO).map((o) => o.dts)
    assert.deepEqual(
      videoDts,
      video(0, 5000).map((p) => p.dts),
    )
    for (const o of frames(after, VIDEO)) assert.equal(o.dts, o.p.dts, 'the mapping is kept')
    assert.ok(r.stats.droppedBackwards > 0)
  })

  test('the same timestamps from another encoding are a new timeline, not a splice', () => {
    const { r, anchors } = rebaser()
    const before = run(r, upstream(0, 3500, { source: 'a' }))
    r.switchUpstream()
    const after = run(r, upstream(3000, 2000, { source: 'b' }))
    assert.equal(anchors[1]?.kind, 'new-timeline')
    assertIncreasing([...before, ...after])
    assertPtsAfter(before, after)
  })

  test('an identical upstream too far behind is appended as a new timeline rather than waited for', () => {
    const { r, anchors } = rebaser()
    const before = run(r, upstream(0, 4500))
    r.switchUpstream()
    const after = run(r, upstream(1000, 2000)) // 3.5 s behind > maxCatchUpMs
    assert.equal(anchors[1]?.kind, 'new-timeline')
    assertIncreasing([...before, ...after])
    assertPtsAfter(before, after)
  })

  test('a timestamp jump back inside one upstream re-anchors after what was sent', () => {
    const { r, anchors } = rebaser()
    const before = run(r, upstream(60_000, 2000))
    // the origin's publisher was replaced: its timestamps restart at 0, same connection
    const after = run(
      r,
      upstream(0, 2000, { source: 'other' }).filter((p) => p.codec_type !== 18),
    )
    assert.deepEqual(
      anchors.map((a) => a.kind),
      ['first', 'new-timeline'],
    )
    assertIncreasing([...before, ...after])
    assertPtsAfter(before, after)
  })

  test('a jump forward of more than 10 s inside one upstream is closed up', () => {
    const { r, anchors } = rebaser()
    const before = run(r, upstream(0, 2000))
    const after = run(r, upstream(60_000, 2000))
    assert.equal(anchors[1]?.kind, 'new-timeline')
    const gap = (frames(after, VIDEO)[0]?.dts ?? 0) - Math.max(...frames(before, VIDEO).map((o) => o.dts))
    assert.ok(gap > 0 && gap <= 200, `gap ${gap}`)
  })

  test('audio-only: anchors on the first audio frame, and switches keep audio increasing', () => {
    const { r, anchors } = rebaser()
    const before = run(r, upstream(700, 2000, { video: false, source: 'a' }))
    assert.equal(frames(before, AUDIO)[0]?.dts, 700)
    r.switchUpstream()
    const after = run(r, upstream(50, 2000, { video: false, source: 'b' }))
    assert.deepEqual(
      anchors.map((a) => a.kind),
      ['first', 'new-timeline'],
    )
    assertIncreasing([...before, ...after])
    const gap = (frames(after, AUDIO)[0]?.dts ?? 0) - Math.max(...frames(before, AUDIO).map((o) => o.dts))
    assert.ok(gap > 0 && gap <= 50, `gap ${gap}`)
  })

  test('after an audio anchor, video waits for its keyframe', () => {
    const { r } = rebaser()
    // no video header yet: the first audio frame anchors; a stray inter frame must not pass
    assert.equal(r.map(audio(1000)), 1000)
    assert.equal(r.map(packet(VIDEO, 4, 1010, 1050, 'p')), null)
    assert.equal(r.map(packet(VIDEO, 3, 1040, 1040, 'k')), 1040)
    assert.equal(r.map(packet(VIDEO, 4, 1080, 1120, 'p2')), 1080)
  })

  test('an upstream without video after one with video starts on audio after 2 s of it', () => {
    const { r, anchors } = rebaser()
    const before = run(r, upstream(0, 2000))
    r.switchUpstream()
    const after = run(r, upstream(90_000, 4000, { video: false, source: 'radio' }))
    assert.equal(anchors[1]?.kind, 'new-timeline')
    const firstAudio = frames(after, AUDIO)[0]
    assert.ok(firstAudio !== undefined && firstAudio.p.dts >= 92_000, 'waited 2 s for video first')
    assertIncreasing([...before, ...after])
  })

  test('a same-timeline keyframe that would present before a frame already shown is not continued', () => {
    const { r, anchors } = rebaser()
    const before = run(r, upstream(0, 2000))
    r.switchUpstream()
    // a keyframe just after the last dts but presenting before the last B-frame's pts
    const lastPts = Math.max(...frames(before, VIDEO).map((o) => o.pts))
    const kf = packet(VIDEO, 3, 2000, lastPts - 10, 'odd')
    assert.ok(r.map(videoHeader()) !== null)
    const dts = r.map(kf)
    assert.equal(anchors[1]?.kind, 'new-timeline')
    assert.ok(dts !== null && kf.pts + (dts - kf.dts) > lastPts)
  })
})
