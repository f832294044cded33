// Error classes shared by every module. Libraries throw these; only the CLI
// turns them into messages and exit codes (see cmd/keel/main.ts).

/** Bad input from the user: a manifest, a flag, a package folder. */
export class UserError extends Error {
  readonly hint: string | undefined
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'UserError'
    this.hint = options.hint
  }
}

/** An external command failed: names the command, its exit and the tail of its stderr. */
export class ToolError extends Error {
  readonly command: string
  readonly exitCode: number | undefined
  readonly stderrTail: string
  constructor(
    message: string,
    details: { command: string; exitCode?: number; stderr?: string; cause?: unknown },
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause })
    this.name = 'ToolError'
    this.command = details.command
    this.exitCode = details.exitCode
    this.stderrTail = tailLines(details.stderr ?? '', 20)
  }
}

/** Data from outside (a registry, the archive, a cache file) is not what it claims to be. */
export class IntegrityError extends Error {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'IntegrityError'
  }
}

/** A remote service (a registry, the Debian archive) could not be reached or kept failing. */
export class NetworkError extends Error {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'NetworkError'
  }
}

/** A bug in keel. */
export class InternalError extends Error {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'InternalError'
  }
}

/** The failure has already been reported; just exit with this code. */
export class ExitError extends Error {
  readonly exitCode: number
  constructor(exitCode: number) {
    super(`exit ${exitCode}`)
    this.name = 'ExitError'
    this.exitCode = exitCode
  }
}

/**
 * Wraps `err` with a message naming the action that failed, keeping the chain,
 * so that the rendered error reads like a path: "building kernel: fetching ...: ...".
 * User and integrity errors keep their class so the CLI still maps them right.
 */
export function wrapError(action: string, err: unknown): Error {
  if (err instanceof ExitError) return err
  const message = `${action}: ${errorMessage(err)}`
  if (err instanceof UserError) return new UserError(message, { hint: err.hint, cause: err })
  if (err instanceof IntegrityError) return new IntegrityError(message, { cause: err })
  if (err instanceof NetworkError) return new NetworkError(message, { cause: err })
  if (err instanceof ToolError) {
    return new ToolError(message, {
      command: err.command,
      ...(err.exitCode === undefined ? {} : { exitCode: err.exitCode }),
      stderr: err.stderrTail,
      cause: err,
    })
  }
  return new Error(message, { cause: err })
}

/** Runs `fn`, wrapping any error it throws with `action`. */
export async function withAction<T>(action: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    throw wrapError(action, err)
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message
  return String(err)
}

export function tailLines(text: string, n: number): string {
  const lines = text.trimEnd().split('\n')
  return lines.slice(Math.max(0, lines.length - n)).join('\n')
}
