export type { Accepted, SeqRange } from './bus/receive-window.ts'
export { ReceiveWindow } from './bus/receive-window.ts'
export { DEFAULT_RETRANSMIT_CAPACITY, RetransmitBuffer } from './bus/retransmit-buffer.ts'
