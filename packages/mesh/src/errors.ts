import { MeshcastError } from '@meshcast/interface'

/** A bus message or invocation larger than the size limit; nothing was sent. */
export class MessageTooLargeError extends MeshcastError {
  readonly size: number
  readonly limit: number
  constructor(size: number, limit: number) {
    super(`bus message of ${size} bytes is over the limit of ${limit} bytes; nothing was sent`)
    this.name = 'MessageTooLargeError'
    this.size = size
    this.limit = limit
  }
}

/** Bus data that JSON cannot carry (a BigInt, a cycle); nothing was sent. */
export class BusDataError extends MeshcastError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'BusDataError'
  }
}

/** The mesh is not running (not started yet, or stopping). */
export class MeshNotRunningError extends MeshcastError {
  constructor(what: string) {
    super(`cannot ${what}: the mesh is not running`)
    this.name = 'MeshNotRunningError'
  }
}

/** A bad argument to the bus API (unknown target, bad channel or method name). */
export class BusArgumentError extends MeshcastError {
  constructor(message: string) {
    super(message)
    this.name = 'BusArgumentError'
  }
}

/**
 * The bus's send queue is full: the application sends faster than the
 * cluster takes. Nothing was sent; await earlier sends to pace yourself.
 */
export class BusOverloadError extends MeshcastError {
  readonly queuedBytes: number
  readonly limit: number
  constructor(queuedBytes: number, limit: number) {
    super(
      `bus send queue is full (${queuedBytes} bytes waiting, limit ${limit}): nothing was sent; await earlier sends before sending more`,
    )
    this.name = 'BusOverloadError'
    this.queuedBytes = queuedBytes
    this.limit = limit
  }
}
