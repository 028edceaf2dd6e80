// The names meshcast gives codecs (adverts, /api/streams, the dashboard),
// from the ids a stream's metadata or sequence headers carry: legacy FLV
// ids, and Enhanced RTMP FourCCs (as a big-endian uint32) where no legacy
// id exists.
import { fourcc } from '@meshcast/interface'

const VIDEO: Record<number, string> = {
  2: 'H263',
  4: 'VP6',
  7: 'H264',
  12: 'H265',
  13: 'AV1',
  [fourcc('vp09')]: 'VP9',
}

const AUDIO: Record<number, string> = {
  2: 'MP3',
  10: 'AAC',
  11: 'SPEEX',
  13: 'OPUS',
  [fourcc('fLaC')]: 'FLAC',
  [fourcc('ac-3')]: 'AC3',
  [fourcc('ec-3')]: 'EAC3',
}

/** `H264`, `H265`, `AV1`, `VP9`, …; null for 0 (unknown) or an id meshcast has no name for. */
export function videoCodecName(id: number): string | null {
  return VIDEO[id] ?? null
}

/** `AAC`, `MP3`, `OPUS`, …; null for 0 (unknown) or an id meshcast has no name for. */
export function audioCodecName(id: number): string | null {
  return AUDIO[id] ?? null
}
