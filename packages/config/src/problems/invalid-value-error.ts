/**
 * One value cannot be used. The message says what would be valid; callers
 * add the file, line and property to make a ConfigProblem of it.
 */
export class InvalidValueError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'InvalidValueError'
  }
}
