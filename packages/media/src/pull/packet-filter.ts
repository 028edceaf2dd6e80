// Pure helpers over FLV tag bodies, for what an edge forwards from an upstream.

/** AMF0 string "@setDataFrame": the prefix RTMP publishers put before onMetaData. */
const SET_DATA_FRAME = amf0String('@setDataFrame')
/** AMF0 string "onMetaData": how an FLV script tag with stream metadata starts. */
const ON_META_DATA = amf0String('onMetaData')

function amf0String(s: string): Buffer {
  const b = Buffer.alloc(3 + s.length)
  b[0] = 0x02
  b.writeUInt16BE(s.length, 1)
  b.write(s, 3, 'latin1')
  return b
}

/**
 * The body to forward for a data message: its `onMetaData` part, without the
 * `@setDataFrame` prefix (what FLV readers expect); null for any other data
 * message. node-media-server caches whatever data message came last as the
 * stream's metadata (broadcast_server.js:360-362), and nginx-rtmp sends
 * `|RtmpSampleAccess` right before `onMetaData`.
 */
export function metadataBody(body: Buffer): Buffer | null {
  const data = startsWith(body, SET_DATA_FRAME) ? body.subarray(SET_DATA_FRAME.length) : body
  return startsWith(data, ON_META_DATA) ? data : null
}

function startsWith(body: Buffer, prefix: Buffer): boolean {
  return body.length >= prefix.length && body.subarray(0, prefix.length).equals(prefix)
}

/**
 * The real pts of a legacy video packet. NMS reads the AVC composition time
 * as unsigned (flv.js: `readUintBE(2, 3)`); it is signed 24-bit, and some
 * encoders write small negative values.
 */
export function signedPts(dts: number, pts: number): number {
  const cts = pts - dts
  return cts >= 0x800000 ? pts - 0x1000000 : pts
}
