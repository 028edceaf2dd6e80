// A stream with one track starts slowly in the players people use: ffmpeg
// (libavformat, which VLC's FLV demuxing uses too) reads 5 s of stream time
// of a single-track FLV before it starts, whatever the FLV header says, and
// VLC first probes a few tens of kilobytes to pick a demuxer. node-media-
// server gives a new player only the GOP from the last video keyframe (an
// audio-only stream: nothing). So a single-track stream keeps more for new
// players (fanout/media-cache.ts), as Icecast's burst-on-connect does for radio:
// - audio only: the last AUDIO_BURST_BYTES of audio, at most AUDIO_BURST_MS;
// - video only: whole GOPs back to VIDEO_BURST_MS before the last keyframe.
// A new player then starts up to that far behind live (a player that wants
// less, e.g. ffmpeg `-analyzeduration 1000000`, can skip ahead); streams
// with audio and video keep NMS's one GOP.

/** Icecast's default burst-size: 8 s of a 64 kb/s stream. */
export const AUDIO_BURST_BYTES = 64 * 1024
export const AUDIO_BURST_MS = 8000
export const VIDEO_BURST_MS = 3000
/** The earlier GOPs of a video burst hold at most this much (3 s of a 10 Mbit/s stream). */
export const VIDEO_BURST_BYTES = 4 * 1024 * 1024
/**
 * What an edge's pull adds to the stream name it plays (`name?meshcast=pull`):
 * a pull wants live media, not a burst. A burst 8 s back would make the
 * edge's rebaser append it after what its players have (a new timeline):
 * 8 s replayed and 8 s more latency at every failover.
 */
export const PULL_MARK = 'meshcast=pull'
