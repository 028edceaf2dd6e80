import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { audioCodecName, videoCodecName } from '../src/flv/codec-names.ts'
import { isFrameTag } from '../src/flv/flv-header.ts'
import { AMF, AVPacket, Flv, Rtmp } from '../src/nms/nms.ts'
import { withStreamId } from '../src/rtmp/rtmp-stream-id.ts'
import { declaredTracks } from '../src/stream-facts.ts'

const meta = (obj: Record<string, unknown>) => AMF.encodeAmf0Data({ cmd: 'onMetaData', dataObj: obj })

function tag(codecType: number, body: number[]): Buffer {
  const p = new AVPacket()
  p.codec_type = codecType
  p.data = Buffer.from(body)
  p.size = body.length
  return Flv.createMessage(p)
}

describe('stream facts', () => {
  test('metadata declares the tracks whose codec ids it names', () => {
    assert.deepEqual(declaredTracks(meta({ audiocodecid: 10, audiosamplerate: 44100 })), {
      audio: true,
      video: false,
    })
    assert.deepEqual(declaredTracks(meta({ videocodecid: 7, width: 320 })), { audio: false, video: true })
    assert.deepEqual(declaredTracks(meta({ videocodecid: 7, audiocodecid: 10 })), {
      audio: true,
      video: true,
    })
  })

  test('hasAudio and hasVideo win over codec ids; garbage declares nothing', () => {
    assert.deepEqual(declaredTracks(meta({ hasAudio: false, hasVideo: true, audiocodecid: 10 })), {
      audio: false,
      video: true,
    })
    assert.equal(declaredTracks(Buffer.from([0xff, 0x00, 0x01])), null)
  })
})

describe('FLV tags', () => {
  test('frames are told from sequence headers, legacy and Enhanced RTMP alike', () => {
    assert.equal(isFrameTag(tag(8, [0xaf, 0x00, 0x12, 0x10])), false, 'AAC sequence header')
    assert.equal(isFrameTag(tag(8, [0xaf, 0x01, 0x21])), true, 'AAC frame')
    assert.equal(isFrameTag(tag(9, [0x17, 0x00, 0, 0, 0, 1])), false, 'AVC sequence header')
    assert.equal(isFrameTag(tag(9, [0x17, 0x01, 0, 0, 0, 0x65])), true, 'AVC keyframe')
    assert.equal(isFrameTag(tag(9, [0x27, 0x01, 0, 0, 0, 0x41])), true, 'AVC inter frame')
    assert.equal(isFrameTag(tag(9, [0x90, ...Buffer.from('hvc1'), 1])), false, 'HEVC SequenceStart')
    assert.equal(isFrameTag(tag(9, [0x91, ...Buffer.from('hvc1'), 0, 0, 0, 0x26])), true, 'HEVC CodedFrames')
    assert.equal(isFrameTag(tag(18, [0x02, 0x00, 0x01, 0x61])), false, 'script data')
  })
})

describe('RTMP message stream ids', () => {
  test('a serialised media message carries the given stream id; other chunk shapes are left alone', () => {
    const p = new AVPacket()
    p.codec_type = 9
    p.data = Buffer.alloc(70_000, 1) // more than one chunk
    p.size = p.data.length
    const message = withStreamId(Rtmp.createMessage(p), 7)
    assert.equal(message.readUInt32LE(8), 7)
    const control = Buffer.from('02000000000004010000000000001000', 'hex') // set chunk size, chunk stream 2
    assert.equal(withStreamId(Buffer.from(control), 7).readUInt32LE(8), 0)
    const short = Buffer.from([0xc4, 1, 2])
    assert.deepEqual(withStreamId(Buffer.from(short), 7), short)
  })
})

describe('codec names', () => {
  test('legacy FLV ids and Enhanced RTMP FourCCs are named; unknown ids are null', () => {
    assert.equal(videoCodecName(7), 'H264')
    assert.equal(videoCodecName(12), 'H265')
    assert.equal(videoCodecName(13), 'AV1')
    assert.equal(videoCodecName(Buffer.from('vp09').readUInt32BE(0)), 'VP9')
    assert.equal(audioCodecName(10), 'AAC')
    assert.equal(audioCodecName(Buffer.from('fLaC').readUInt32BE(0)), 'FLAC')
    assert.equal(videoCodecName(0), null)
    assert.equal(audioCodecName(99), null)
  })
})

describe('what one RTMP connection costs', () => {
  test("a connection's FLV parser holds no buffer until it parses (patches/node-media-server: 1 MiB each before)", () => {
    const rtmp = new Rtmp() as unknown as { flv: { parserTagData: Buffer; parserTagCapacity: number } }
    assert.equal(rtmp.flv.parserTagData.length, 0)
    const flv = new Flv() as unknown as { parserTagAlloc(size: number): void; parserTagData: Buffer }
    flv.parserTagAlloc(100)
    assert.ok(flv.parserTagData.length >= 100, 'it still grows when a tag comes')
  })
})
