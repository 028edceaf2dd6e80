// FLV's numbers as they are on the wire (Adobe's FLV spec v10.1, annex E;
// Enhanced RTMP v1 for video by FourCC): tag types, which are also RTMP's
// message types for media, the layout of a file and of a tag, and what the
// first bytes of an audio or video tag body say. Pure numbers and byte reads.

/** Tag types (= RTMP message type ids of audio, video and data messages). */
export const TAG_AUDIO = 8
export const TAG_VIDEO = 9
/** script data: `onMetaData` (RTMP's AMF0 data message) */
export const TAG_SCRIPT = 18
/** The tag type's bits of a tag's first byte (bit 5 is the filter flag). */
export const TAG_TYPE_MASK = 0x1f

/** The file header: `FLV`, version 1, flags, and its own size (9). */
export const FILE_HEADER_BYTES = 9
/** File header flags: the stream has audio, video. */
export const HAS_AUDIO = 0x04
export const HAS_VIDEO = 0x01
/** A tag's header: type, 24-bit body size, timestamp (24 bits + 8 high bits), stream id. */
export const TAG_HEADER_BYTES = 11
/** The PreviousTagSize after the file header and after each tag. */
export const PREVIOUS_TAG_SIZE_BYTES = 4

/** Video tag body, first byte, high nibble: the frame type (bits 4-6 once bit 7 says Enhanced RTMP). */
export const FRAME_KEY = 1
export const FRAME_INTER = 2
/** video info / command frame: no picture */
export const FRAME_COMMAND = 5
/** Video, first byte, low nibble (legacy): the codec id. 12 (HEVC) is not Adobe's, but what ffmpeg and others send. */
export const VIDEO_CODEC_AVC = 7
export const VIDEO_CODEC_HEVC = 12
/** AVC and HEVC, second byte: 0 the sequence header (decoder configuration record), 1 a frame. */
export const AVC_SEQUENCE_HEADER = 0

/** Video, first byte, bit 7: Enhanced RTMP (a FourCC follows; the low nibble is the packet type). */
export const VIDEO_EX_HEADER = 0x80
/** Enhanced RTMP packet types. */
export const EX_SEQUENCE_START = 0
export const EX_CODED_FRAMES = 1
/** coded frames without a composition time (it is 0) */
export const EX_CODED_FRAMES_X = 3

/** Audio tag body, first byte, high nibble: the sound format. */
export const SOUND_AAC = 10
/** AAC, second byte: 0 the sequence header (AudioSpecificConfig), 1 a frame. */
export const AAC_SEQUENCE_HEADER = 0

/** The frame type of a video tag body's first byte, legacy or Enhanced RTMP. */
export function videoFrameType(b0: number): number {
  return (b0 >> 4) & 0x07
}

/** Whether a video tag body's first byte starts an Enhanced RTMP header. */
export function isExVideo(b0: number): boolean {
  return (b0 & VIDEO_EX_HEADER) !== 0
}

/** A legacy video tag's codec id, or an Enhanced RTMP one's packet type: the first byte's low nibble. */
export function videoCodecOrPacketType(b0: number): number {
  return b0 & 0x0f
}

/** The sound format of an audio tag body's first byte. */
export function soundFormat(b0: number): number {
  return b0 >> 4
}

/** The timestamp of the tag starting at `at` (24 bits, then the 8 high bits). */
export function tagTimestamp(bytes: Uint8Array, at = 0): number {
  const b = (i: number) => bytes[at + i] ?? 0
  return ((b(7) << 24) | (b(4) << 16) | (b(5) << 8) | b(6)) >>> 0
}

/** An Enhanced RTMP FourCC (`hvc1`, `av01`, …) as the big-endian uint32 it is sent as (NMS's `codec_id`). */
export function fourcc(s: string): number {
  return Buffer.from(s, 'latin1').readUInt32BE(0)
}
