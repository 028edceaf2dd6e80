/** How long a member counts as just started (its silence is suspected later): tests of steady-state detection wait it out. */

// what FlvTag.type and MediaTag.type hold, for tests outside the packages
export { TAG_AUDIO, TAG_SCRIPT, TAG_VIDEO, VIDEO_EX_HEADER } from '@meshcast/interface'
export { DEFAULT_YOUNG_FOR } from '@meshcast/mesh'
/** node-media-server's RTMP client (connect, createStream, publish or play), for raw RTMP in tests. */
export { default as RtmpClient } from 'node-media-server/src/protocol/rtmp_client.js'
export type { AvSyncResult, AvSyncRun, FlashBeepOptions, OnsetPair, Sample } from './av-sync.ts'
export {
  flashBeepArgs,
  MetadataPrintReader,
  measureAvSync,
  median,
  onsetSamples,
  onsets,
  pairOnsets,
  parseMetadataPrint,
  publishFlashBeep,
  startAvSync,
} from './av-sync.ts'
export type { Page } from './browser.ts'
export {
  CHROMIUM_ARGS,
  CHROMIUM_PATH,
  Chromium,
  chromiumMissing,
  skipOrFailWithoutChromium,
  withChromium,
} from './browser.ts'
export type { ChaosEvent, ChaosFault, ChaosOptions, ChaosPlayer, ChaosResult } from './chaos.ts'
export { runChaos } from './chaos.ts'
export type { SkippableContext, StartNodeOptions, TestClusterOptions } from './cluster.ts'
export { inCi, skipOrFail, skipOrFailWithoutLan, TestCluster, withCluster, withLan } from './cluster.ts'
export type { ClusterXmlOptions } from './conf-writer.ts'
export { clusterXml, red5Properties, writeConfDir } from './conf-writer.ts'
export {
  buildMeshcastImage,
  docker,
  dockerMissing,
  ensureNodeBase,
  localCaText,
  REPO_ROOT,
} from './container-image.ts'
export type { DnsRecords } from './dnsmasq.ts'
export { DNSMASQ_PATH, Dnsmasq, dnsmasqMissing, skipOrFailWithoutDnsmasq } from './dnsmasq.ts'
export type { ClipOptions, ClipSample, EnhancedClip, EnhancedCodec } from './enhanced-clip.ts'
export { ENHANCED_CODECS, encodeClip, enhancedEncoderMissing, makeClip, readClip } from './enhanced-clip.ts'
export type { EnhancedPublishOptions, SentTag } from './enhanced-publisher.ts'
export { EnhancedPublisher, enhancedVideoTag, fourccId, frameTag, PACKET_TYPE } from './enhanced-publisher.ts'
export type { FrameInfo, PlayOptions, PlayResult, PublishOptions, Wrap } from './ffmpeg-clients.ts'
export { Publisher, play, publish } from './ffmpeg-clients.ts'
export type { FlvHeadOptions, FlvSummary } from './flv-file.ts'
export { readFlvHead, summarizeFlv } from './flv-file.ts'
export type { FlvTag, WsFlvPlayer } from './flv-tags.ts'
export { FlvTagReader, playWsFlv } from './flv-tags.ts'
export type { ForeignTool } from './foreign.ts'
export { FOREIGN_PATHS, foreignMissing, GST_ELEMENTS, requireForeign } from './foreign.ts'
export type { Decoded, DecodeGoal, GstSource } from './foreign-players.ts'
export {
  FFMPEG_HARMLESS,
  GST_HARMLESS,
  playFfmpeg,
  playGst,
  playVlc,
  VLC_HARMLESS,
} from './foreign-players.ts'
export type { GstSink } from './foreign-publishers.ts'
export { publishDebianFfmpeg, publishGst, publishTestPattern } from './foreign-publishers.ts'
export type { Recording } from './foreign-record.ts'
export { recordRtmpdump } from './foreign-record.ts'
export type { OutputLine, RunOptions } from './foreign-run.ts'
export { ForeignProcess } from './foreign-run.ts'
export { loopbackSubnet, uniquePassword } from './loopback.ts'
export { MeshPeer } from './mesh-peer/mesh-peer.ts'
export type { AddPeerOptions } from './mesh-peer/peer-group.ts'
export { PeerGroup, withPeers } from './mesh-peer/peer-group.ts'
export type { PeerCommand, PeerReport, PeerSetup, Received } from './mesh-peer/protocol.ts'
export type { LanFetchInit, NetnsLanOptions } from './netns.ts'
export { CommandError, NETNS_ETC, NetnsLan } from './netns.ts'
export type { NginxRtmpOptions } from './nginx-rtmp.ts'
export {
  NGINX_PATH,
  NGINX_RTMP_MODULE,
  NginxRtmp,
  NginxServers,
  nginxRtmpMissing,
  skipOrFailWithoutNginx,
  withNginxRtmp,
} from './nginx-rtmp.ts'
export type { Exit, NodeProcessOptions } from './node-process.ts'
export { ExitedError, MESHCAST_BIN, NodeProcess } from './node-process.ts'
export { isListening, listeningPorts } from './ports.ts'
export { RoguePeer } from './rogue-peer.ts'
export type { CliResult } from './run-cli.ts'
export { runCli } from './run-cli.ts'
export type { SoakNodeResult, SoakOptions, SoakResult } from './soak.ts'
export { rssMiB, runSoak } from './soak.ts'
export type { StreamCarrier, StreamsBody } from './stream-checks.ts'
export { assertMonotonic, carrierOn, longestGap, streamsOf } from './stream-checks.ts'
export type { SwarmTask } from './swarm.ts'
export { ensureSwarm, exitCode, health, hostPort, oneHostStack, SwarmStack } from './swarm.ts'
export type { MediaTag, TagPlayer } from './tag-players.ts'
export { metadataOf, playHttpFlvTags, playRtmpTags } from './tag-players.ts'
export type { TlsFiles } from './tls-files.ts'
export { makeTlsFiles } from './tls-files.ts'
export type { WaitOptions } from './wait-for.ts'
export { waitFor } from './wait-for.ts'
