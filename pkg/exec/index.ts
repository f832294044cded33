// Every external command keel runs goes through a ToolRunner, so that a test can
// record or fake commands and a dry run can print them instead.
import type { Readable } from 'node:stream'
import { accessSync, constants, existsSync, readFileSync } from 'node:fs'
import { delimiter, join } from 'node:path'
import { ToolError, UserError } from '../errors/index.js'

export interface RunOptions {
  cwd?: string
  env?: Record<string, string | undefined>
  /** Bytes or text fed to stdin. */
  input?: string | Uint8Array
  /** Pass the child's output through to ours instead of capturing it. */
  inherit?: boolean
  /** Kill the command after this many milliseconds. */
  timeoutMs?: number
  /** Write the command's stdout to this file instead of capturing it (binary-safe). */
  stdoutFile?: string
  /** Feed this file to the command's stdin. */
  stdinFile?: string
  /** Feed this stream to the command's stdin (destroyed if the command fails). */
  stdinStream?: Readable
}

export interface RunResult {
  stdout: string
  stderr: string
  exitCode: number
}

export interface ToolRunner {
  /** Runs `command` with `args`; throws ToolError when it fails. */
  run(command: string, args: readonly string[], options?: RunOptions): Promise<RunResult>
}

export function createRealRunner(): ToolRunner {
  return {
    async run(command, args, options = {}) {
      const line = formatCommand(command, args)
      let feedError: unknown
      // Loaded on first use: execa takes a sixth of a second to load, and a
      // build that runs no tool should not pay for it.
      const { execa } = await import('execa')
      try {
        const child = execa(command, [...args], {
          cwd: options.cwd,
          env: options.env,
          extendEnv: true,
          ...(options.input === undefined ? {} : { input: options.input }),
          stdin: options.stdinFile !== undefined
            ? { file: options.stdinFile }
            : options.input === undefined && options.stdinStream === undefined ? 'ignore' : 'pipe',
          stdout: options.stdoutFile !== undefined
            ? { file: options.stdoutFile }
            : options.inherit ? ['inherit'] : 'pipe',
          stderr: options.inherit ? ['inherit'] : 'pipe',
          timeout: options.timeoutMs,
          // Output sent to a file must not also be kept in memory (it may be far larger than RAM allows).
          buffer: { stdout: options.stdoutFile === undefined, stderr: true },
          maxBuffer: { stdout: 256 * 1024 * 1024, stderr: 16 * 1024 * 1024 },
          stripFinalNewline: false,
          reject: false,
          encoding: 'utf8',
        })
        const feed = options.stdinStream
        if (feed && child.stdin) {
          // a command that stops reading early (or fails) must not leave the stream hanging
          child.stdin.on('error', () => feed.destroy())
          feed.on('error', (err) => {
            feedError = err
            child.stdin?.destroy()
          })
          feed.pipe(child.stdin)
        }
        const result = await child
        if (feed && !feed.readableEnded) feed.destroy()
        // the input's own failure (say, a bad layer) says more than the command's
        if (feedError !== undefined) throw feedError
        const stdout = typeof result.stdout === 'string' ? result.stdout : ''
        const stderr = typeof result.stderr === 'string' ? result.stderr : ''
        if (result.failed) {
          const why = result.timedOut
            ? `timed out after ${options.timeoutMs} ms`
            : result.exitCode === undefined
              ? result.signal ? `killed by ${result.signal}` : (result.originalMessage ?? 'could not start')
              : `exited with ${result.exitCode}`
          throw new ToolError(`${line}: ${why}`, {
            command: line,
            ...(result.exitCode === undefined ? {} : { exitCode: result.exitCode }),
            stderr,
          })
        }
        return { stdout, stderr, exitCode: result.exitCode ?? 0 }
      } catch (err) {
        if (err instanceof ToolError || (feedError !== undefined && err === feedError)) throw err
        throw new ToolError(`${line}: could not run`, { command: line, cause: err })
      }
    },
  }
}

export interface RecordedCommand {
  command: string
  args: string[]
  cwd: string | undefined
}

/**
 * A runner that records each command. With `inner` it runs them too; without,
 * it answers from `reply` (default: success with empty output) — a dry run.
 */
export function createRecordingRunner(
  inner?: ToolRunner,
  reply: (command: string, args: readonly string[]) => RunResult = () => ({ stdout: '', stderr: '', exitCode: 0 }),
): ToolRunner & { commands: RecordedCommand[] } {
  const commands: RecordedCommand[] = []
  return {
    commands,
    async run(command, args, options = {}) {
      commands.push({ command, args: [...args], cwd: options.cwd })
      if (inner) return inner.run(command, args, options)
      return reply(command, args)
    },
  }
}

export function formatCommand(command: string, args: readonly string[]): string {
  return [command, ...args].map(quoteArg).join(' ')
}

function quoteArg(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`
}

/** Finds `name` on PATH, or undefined. */
export function findOnPath(name: string, path = process.env['PATH'] ?? ''): string | undefined {
  if (name.includes('/')) return isExecutable(name) ? name : undefined
  for (const dir of path.split(delimiter)) {
    if (!dir) continue
    const candidate = join(dir, name)
    if (isExecutable(candidate)) return candidate
  }
  return undefined
}

function isExecutable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/** A tool keel needs (a command on PATH, or a data file by absolute path), and the Debian package that provides it. */
export interface ToolRequirement {
  command: string
  debianPackage: string
  /** `command` is a file that must exist and be readable (firmware, boot code), not a program. */
  file?: boolean
}

function isReadable(p: string): boolean {
  try {
    accessSync(p, constants.R_OK)
    return true
  } catch {
    return false
  }
}

/** Throws a UserError naming the Debian packages to install when any tool is missing. */
export function requireTools(tools: readonly ToolRequirement[], path?: string): void {
  const missing = tools.filter((t) => (t.file ? !isReadable(t.command) : findOnPath(t.command, path) === undefined))
  if (missing.length === 0) return
  const pkgs = [...new Set(missing.map((t) => t.debianPackage))].sort()
  throw new UserError(
    `missing tool${missing.length > 1 ? 's' : ''}: ${missing.map((t) => t.command).join(', ')}`,
    { hint: `install with: apt-get install -y ${pkgs.join(' ')}  (or run: sh scripts/setup.sh)` },
  )
}

/**
 * Whether process `pid` runs. A zombie (ended, not yet reaped by its
 * parent: its /proc stat says Z) does not: it is gone but for its exit
 * status. One of another user's counts (kill says EPERM).
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
  let stat: string
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    // Gone between the two looks; or no /proc, and kill(0) said it was there.
    return !existsSync('/proc/self')
  }
  return !/\) Z /.test(stat)
}
