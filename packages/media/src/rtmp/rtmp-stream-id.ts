// Media is serialised once for every RTMP player (the fan-out, fanout/tags.ts;
// node-media-server's Rtmp.createMessage where NMS still builds a message),
// and NMS did it with message stream id 0, whatever id createStream gave the
// player, and sends |RtmpSampleAccess on stream 0 too. ffmpeg and VLC do not
// care; GStreamer's rtmp2src drops it all ("Ignoring video message with
// stream 0 != 1"). The RTMP spec puts media and data on the stream the
// client plays. Here media is serialised for stream 1 (the id NMS's first
// createStream returns, so nearly every player's), and a player on another
// id gets a patched copy.
import { Rtmp, type RtmpSession } from '../nms/nms.ts'

/** The stream id NMS's first `createStream` answers, which media is serialised for. */
export const MEDIA_STREAM_ID = 1
/** Offset of the message stream id in a type-0 chunk with a 1-byte basic header (chunk streams 3-63; 2 is protocol control, always stream 0). */
const STREAM_ID_OFFSET = 8
const TYPE_0_HEADER = 12

let installed = false

/** Makes NMS's shared media messages carry `MEDIA_STREAM_ID`; once per process. */
export function installMediaStreamId(): void {
  if (installed) return
  installed = true
  const createMessage = Rtmp.createMessage
  Rtmp.createMessage = (packet) => withStreamId(createMessage(packet), MEDIA_STREAM_ID)
  const sampleAccess = Rtmp.prototype.sendRtmpSampleAccess
  Rtmp.prototype.sendRtmpSampleAccess = function (this: Rtmp, sid?: number) {
    sampleAccess.call(this, sid ?? this.streamId)
  }
}

/**
 * Sends a player its media on the stream id it plays: the shared messages
 * as they are when that is `MEDIA_STREAM_ID`, a patched copy otherwise.
 * Wraps `sendBuffer`, which NMS uses for media and data only.
 */
export function playOnOwnStreamId(session: RtmpSession): void {
  const send = session.sendBuffer
  session.sendBuffer = (buffer: Buffer) => {
    const id = session.rtmp.streamId
    send(id === MEDIA_STREAM_ID || id === undefined ? buffer : withStreamId(Buffer.from(buffer), id))
  }
}

/** Writes `id` as the message stream id of a serialised message (its first chunk is type 0). */
export function withStreamId(message: Buffer, id: number): Buffer {
  const basic = message[0] ?? 0
  if (message.length < TYPE_0_HEADER || basic >> 6 !== 0 || (basic & 0x3f) < 3) return message
  message.writeUInt32LE(id >>> 0, STREAM_ID_OFFSET)
  return message
}
