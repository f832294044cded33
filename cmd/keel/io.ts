import type { Logger } from '../../pkg/log/index.js'

/** What a command may touch of the outside world; tests pass buffers. */
export interface CliIO {
  stdout: { write(s: string): unknown }
  stderr: { write(s: string): unknown; isTTY?: boolean }
  readStdin(): Promise<string>
  env: NodeJS.ProcessEnv
  cwd: string
  log: Logger
}

/** Bad command-line usage: exit 2 with the message and the command's usage. */
export class UsageError extends Error {
  readonly usage: string
  constructor(message: string, usage: string) {
    super(message)
    this.name = 'UsageError'
    this.usage = usage
  }
}
