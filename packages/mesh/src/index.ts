export type { InvokeOptions, MessageHandler, SendOptions } from './bus/bus.ts'
export type { Accepted, SeqRange } from './bus/receive-window.ts'
export { ReceiveWindow } from './bus/receive-window.ts'
export { DEFAULT_RETRANSMIT_CAPACITY, RetransmitBuffer } from './bus/retransmit-buffer.ts'
export { clusterKey, clusterNames } from './cluster-key.ts'
export {
  BusArgumentError,
  BusDataError,
  BusOverloadError,
  MeshNotRunningError,
  MessageTooLargeError,
} from './errors.ts'
export type { SuspectReason } from './membership/member-table.ts'
export type { MemberInfo, MeshComponents, MeshEvents, MeshState } from './mesh.ts'
export { Mesh } from './mesh.ts'
export * from './options.ts'
export { parseHostPort, tcpAddr } from './transport/addresses.ts'
export type { Seed } from './transport/connector.ts'
export type { MeshIdentity } from './transport/identity.ts'
export { newIdentity } from './transport/identity.ts'
/** For tests that speak the mesh's wire by hand (a peer sending garbage): the libp2p node a member runs. */
export { DEFAULT_INBOUND_LIMITS, type InboundLimits } from './transport/inbound-gate.ts'
export { createMeshLibp2p, type MeshLibp2p } from './transport/libp2p-node.ts'
export { isName, type LookupAll, lookupAll } from './transport/names.ts'
export type { Decoded, DropReason } from './wire/codec.ts'
export { decodeDirectFrame, decodeTopicFrame, encodeFrame } from './wire/codec.ts'
export type * from './wire/frames.ts'
