// A stream's way out to its players, in place of node-media-server's
// BroadcastServer.broadcastMessage: NMS builds every message as an FLV tag
// and as an RTMP message (both zero-filled, both cached) whether anyone
// plays or not; an edge repeating streams nobody watches spent most of its
// CPU there and in the collector (bench/profile.ts). Here a message is kept
// once (media-cache.ts) and each form is built when a player of that form
// is there, once for all of them. NMS's BroadcastServer still holds the
// publisher and the players; its postPlay still admits a player, then the
// player gets this cache.

import type { Socket } from 'node:net'
import { METADATA } from '../flv/flv-kinds.ts'
import {
  AMF,
  type AVPacket,
  type BaseSession,
  type BroadcastServer,
  FlvSession,
  RtmpSession,
} from '../nms/nms.ts'
import { isClusterPull } from '../pull/slow-pull.ts'
import { Cached, cacheOf, type MediaCache, type SingleTrack } from './media-cache.ts'

const installed = new WeakSet<BroadcastServer>()

/**
 * Sends `p` to every player of `b` and keeps it for the next ones; `single`:
 * the track a single-track stream has (its startup burst). The packet's
 * data may be the parser's buffer: it is copied once, here.
 */
export function fanOut(b: BroadcastServer, p: AVPacket, single: SingleTrack): void {
  const cache = cacheOf(b)
  install(b, cache)
  if (p.flags === METADATA && b.publisher !== null) readMetadata(b.publisher, p)
  const c = new Cached(p.codec_type, p.flags, p.dts, p.data, p.size)
  cache.add(c, single)
  for (const s of b.subscribers.values()) {
    corkUntilTickEnds(s)
    sendTo(s, c)
  }
}

/** `c` in the form `s` plays. */
function sendTo(s: BaseSession, c: Cached): void {
  if (s.protocol === 'rtmp') s.sendBuffer(c.rtmp)
  else if (s.protocol === 'flv') s.sendBuffer(c.flv)
}

/** the player sockets corked in this tick */
const corked = new Set<Socket>()

/**
 * Holds a player's writes until the current tick ends: the messages of one
 * read (a pull's or a publisher's) go out in one `writev` per player, not one
 * system call per message (nginx-rtmp chains its buffers the same way).
 */
function corkUntilTickEnds(s: BaseSession): void {
  const socket = socketOf(s)
  if (socket === null || corked.has(socket) || socket.destroyed) return
  if (corked.size === 0) process.nextTick(uncorkAll)
  corked.add(socket)
  socket.cork()
}

function uncorkAll(): void {
  for (const socket of corked) socket.uncork()
  corked.clear()
}

/** The TCP (or TLS) socket under a player: an RTMP session's, an HTTP-FLV response's, a WS-FLV WebSocket's. */
function socketOf(s: BaseSession): Socket | null {
  if (s instanceof RtmpSession) return s.socket
  if (s instanceof FlvSession) {
    const res = s.res as { socket?: Socket | null; _socket?: Socket | null }
    return res.socket ?? res._socket ?? null
  }
  return null
}

/**
 * Once per broadcast: a player NMS admits (postPlay: access check, events,
 * the FLV file header) then gets what the cache holds; a publish that ends
 * (_finishPublish, also from NMS's grace timer) empties it.
 */
function install(b: BroadcastServer, cache: MediaCache): void {
  if (installed.has(b)) return
  installed.add(b)
  const postPlay = b.postPlay
  b.postPlay = (session: BaseSession) => {
    const err = postPlay(session)
    if (err === null) startPlayer(cache, session)
    return err
  }
  const finish = b._finishPublish
  b._finishPublish = () => {
    const had = b.publisher !== null
    finish()
    if (had) cache.clear()
  }
}

function startPlayer(cache: MediaCache, session: BaseSession): void {
  corkUntilTickEnds(session)
  for (const c of cache.forPlayer(isClusterPull(session))) sendTo(session, c)
}

/** What NMS reads from `onMetaData` into the publisher's fields (broadcast_server.js). */
function readMetadata(publisher: BaseSession, p: AVPacket): void {
  let meta: { cmd?: unknown; dataObj?: Record<string, unknown> | null }
  try {
    meta = AMF.decodeAmf0Data(p.data.subarray(0, p.size))
  } catch {
    return
  }
  const o = meta.dataObj
  if (o === null || o === undefined || (meta.cmd !== '@setDataFrame' && meta.cmd !== 'onMetaData')) return
  publisher.audioCodec = o.audiocodecid as number
  publisher.audioChannels = o.stereo ? 2 : 1
  publisher.audioSamplerate = o.audiosamplerate as number
  publisher.audioDatarate = o.audiodatarate as number
  publisher.videoCodec = o.videocodecid as number
  publisher.videoWidth = o.width as number
  publisher.videoHeight = o.height as number
  publisher.videoFramerate = o.framerate as number
  publisher.videoDatarate = o.videodatarate as number
}
