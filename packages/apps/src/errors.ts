import { MeshcastError } from '@meshcast/interface'

/** An application's module cannot be found, imported, or is not an application. */
export class AppLoadError extends MeshcastError {
  readonly app: string
  constructor(app: string, message: string, options?: ErrorOptions) {
    super(`application "${app}": ${message}`, options)
    this.name = 'AppLoadError'
    this.app = app
  }
}

/** An application's start or stop did not finish in time. */
export class AppTimeoutError extends MeshcastError {
  constructor(app: string, what: string, ms: number) {
    super(`application "${app}": ${what} did not finish within ${ms} ms`)
    this.name = 'AppTimeoutError'
  }
}

/** An application passed a bad channel name, path or the like. */
export class AppArgumentError extends MeshcastError {
  constructor(message: string) {
    super(message)
    this.name = 'AppArgumentError'
  }
}

/** An application used its context after it stopped (or failed). */
export class AppNotRunningError extends MeshcastError {
  constructor(app: string) {
    super(`application "${app}" is not running`)
    this.name = 'AppNotRunningError'
  }
}

/** `{name, message}` of anything thrown, as logs and invocation replies carry it. */
export function describeError(err: unknown): { name: string; message: string } {
  return err instanceof Error
    ? { name: err.name, message: err.message }
    : { name: 'Error', message: String(err) }
}
