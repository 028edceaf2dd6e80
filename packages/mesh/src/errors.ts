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
