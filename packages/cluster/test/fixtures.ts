import type { Member, StreamAdvert } from '@meshcast/interface'

export function member(id: string, over: Partial<Member> = {}): Member {
  const n = Number(id.replace(/\D/g, '') || 1)
  return {
    id,
    role: 'origin',
    publicIp: `10.0.0.${n}`,
    publicPort: 1935,
    http: `10.0.0.${n}:5080`,
    mesh: `10.0.0.${n}:7800`,
    privateInstance: false,
    startedAt: n,
    load: { subscribers: 0, streams: 0 },
    data: {},
    ...over,
  }
}

export function advert(m: Member, path: string, over: Partial<StreamAdvert> = {}): StreamAdvert {
  return {
    path,
    source: 'publish',
    rtmpUrl: `rtmp://${m.publicIp}:${m.publicPort}${path}`,
    video: 'H264',
    audio: 'AAC',
    width: 640,
    height: 360,
    since: 1000,
    subscribers: 0,
    kbps: 0,
    owner: null,
    via: [],
    ...over,
  }
}
