// The contract between the edge controller and the media server lives in @meshcast/interface.
export type { DownReason, Relay, RelayPort } from '@meshcast/interface'
