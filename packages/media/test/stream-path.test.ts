import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { isStreamPath } from '@meshcast/interface'
import { metadataBody, signedPts } from '../src/pull/packet-filter.ts'
import { parseFlvUrl } from '../src/stream-path.ts'

describe('stream paths', () => {
  test('an FLV URL gives its app, name and path; the query is ignored', () => {
    assert.deepEqual(parseFlvUrl('/live/cam_1-a.flv?token=x'), {
      ok: true,
      app: 'live',
      name: 'cam_1-a',
      path: '/live/cam_1-a',
    })
  })

  test('URLs of another shape are not ours (null: the caller falls through)', () => {
    for (const url of ['/', '/live/a', '/live/a.mp4', '/a/b/c.flv', '/live/.flv/x', '//a.flv', undefined]) {
      assert.equal(parseFlvUrl(url), null, String(url))
    }
  })

  test('odd names in an FLV URL are refused with a clear message', () => {
    for (const url of [
      '/live/a.b.flv',
      '/live/a%20b.flv',
      '/li%2Fve/a.flv',
      '/live/%E2%82%AC.flv',
      `/live/${'x'.repeat(129)}.flv`,
    ]) {
      const r = parseFlvUrl(url)
      assert.ok(r !== null && !r.ok, url)
      assert.match(r.ok ? '' : r.message, /bad stream path .*letters, digits, _ or -/)
    }
    const broken = parseFlvUrl('/live/%E0%A4%A.flv')
    assert.ok(broken !== null && !broken.ok)
    assert.match(broken.ok ? '' : broken.message, /%-escape/)
  })

  test('a stream path is /app/name of safe names', () => {
    assert.ok(isStreamPath('/live/a_b-1'))
    for (const p of ['live/a', '/live', '/live/a/b', '/live/a.b', '/live/', '//a', '/live/a?x', '']) {
      assert.ok(!isStreamPath(p), p)
    }
  })
})

describe('packet filter', () => {
  const amf = (s: string) => Buffer.concat([Buffer.from([2, 0, s.length]), Buffer.from(s)])
  const body = Buffer.from([3, 0, 0, 9])

  test('metadata keeps only onMetaData, without the @setDataFrame prefix', () => {
    assert.deepEqual(
      metadataBody(Buffer.concat([amf('@setDataFrame'), amf('onMetaData'), body])),
      Buffer.concat([amf('onMetaData'), body]),
    )
    assert.deepEqual(
      metadataBody(Buffer.concat([amf('onMetaData'), body])),
      Buffer.concat([amf('onMetaData'), body]),
    )
    assert.equal(metadataBody(Buffer.concat([amf('|RtmpSampleAccess'), Buffer.from([1, 0, 1, 0])])), null)
    assert.equal(metadataBody(Buffer.concat([amf('@setDataFrame'), amf('onCuePoint')])), null)
    assert.equal(metadataBody(Buffer.alloc(0)), null)
    assert.equal(metadataBody(Buffer.from([2, 0])), null)
  })

  test('a negative AVC composition time read as unsigned is made signed again', () => {
    assert.equal(signedPts(1000, 1080), 1080)
    assert.equal(signedPts(1000, 1000 + 0xffffff - 39), 960) // cts -40
  })
})
