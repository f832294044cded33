// The keel command line: a thin main over run(io, args), which maps every
// error class to a message and an exit code. Only this folder prints.
import { ExitError, IntegrityError, NetworkError, ToolError, UserError } from '../../pkg/errors/index.js'
import { createLogger } from '../../pkg/log/index.js'
import { UsageError, type CliIO } from './io.js'
import { version } from './version.js'

export const exitCodes = { ok: 0, failure: 1, usage: 2, tool: 3, internal: 70 } as const

const usage = `usage: keel [-q|--quiet] [--debug] COMMAND [ARGS]

Builds minimal, container-native OS images from a LinuxKit-style manifest.

commands:
  build      build an image from manifests          (keel build --help)
  validate   check manifests, offline               (keel validate --help)
  run        boot an image under QEMU, or write a launcher for
             Hyper-V, hyperkit, xhyve, vfkit, VirtualBox, VMware (keel run --help)
  pkg        build package folders into images      (keel pkg --help)
  serve      serve an image over HTTP for iPXE network boot (keel serve --help)
  test       build and boot test cases, report TAP or JUnit  (keel test --help)
  cache      the image store: ls, pull, push, rm, clean, verify, export, import
  version    print keel's version
`

type Command = (io: CliIO, args: string[]) => Promise<number>

// Each command's module is loaded only when it runs: start-up stays short
// (keel version, keel run) whatever the other commands pull in.
const commands: Record<string, () => Promise<Command>> = {
  build: async () => (await import('./build.js')).buildCommand,
  validate: async () => (await import('./validate.js')).validateCommand,
  cache: async () => (await import('./cache.js')).cacheCommand,
  run: async () => (await import('./run.js')).runCommand,
  pkg: async () => (await import('./pkg.js')).pkgCommand,
  serve: async () => (await import('./serve.js')).serveCommand,
  test: async () => (await import('./test.js')).testCommand,
  version: async () => async (io) => {
    io.stdout.write(`keel ${version()}\n`)
    return 0
  },
}

/** Runs one keel command line; returns the exit code. Never throws. */
export async function run(io: CliIO, argv: string[]): Promise<number> {
  const args = [...argv]
  while (args[0]?.startsWith('-')) {
    const flag = args.shift()!
    if (flag === '-h' || flag === '--help') {
      io.stdout.write(usage)
      return 0
    }
    if (flag === '--version') return (await commands['version']!())(io, [])
    if (flag === '-q' || flag === '--quiet') io.log = createLogger('warn', io.stderr)
    else if (flag === '--debug') io.log = createLogger('debug', io.stderr)
    else {
      io.stderr.write(`keel: unknown option ${flag}\n${usage}`)
      return exitCodes.usage
    }
  }
  const [name, ...rest] = args
  if (name === undefined) {
    io.stderr.write(usage)
    return exitCodes.usage
  }
  const load = commands[name]
  if (!load) {
    io.stderr.write(`keel: unknown command ${JSON.stringify(name)}\n${usage}`)
    return exitCodes.usage
  }
  try {
    return await (await load())(io, rest)
  } catch (err) {
    return reportError(io, err)
  }
}

export function reportError(io: CliIO, err: unknown): number {
  if (err instanceof ExitError) return err.exitCode
  if (err instanceof UsageError) {
    io.stderr.write(`keel: ${err.message}\n\n${err.usage}`)
    return exitCodes.usage
  }
  if (err instanceof UserError || err instanceof IntegrityError || err instanceof NetworkError) {
    io.stderr.write(`keel: error: ${err.message}\n`)
    if (err instanceof UserError && err.hint) io.stderr.write(`hint: ${err.hint}\n`)
    return exitCodes.failure
  }
  if (err instanceof ToolError) {
    io.stderr.write(`keel: error: ${err.message}\n`)
    if (err.stderrTail) io.stderr.write(`${err.stderrTail.replace(/^/gm, '  | ')}\n`)
    return exitCodes.tool
  }
  const e = err instanceof Error ? err : new Error(String(err))
  io.stderr.write(`keel: error: ${e.message}\n`)
  if (io.log.level === 'debug' || !(e as NodeJS.ErrnoException).code) {
    io.stderr.write(`${e.stack ?? ''}\n`)
  }
  return (e as NodeJS.ErrnoException).code ? exitCodes.failure : exitCodes.internal
}

/** The process entry point used by bin/keel.js. */
export async function main(argv: string[]): Promise<number> {
  const io: CliIO = {
    stdout: process.stdout,
    stderr: process.stderr,
    readStdin: async () => {
      const chunks: Buffer[] = []
      for await (const c of process.stdin) chunks.push(c as Buffer)
      return Buffer.concat(chunks).toString('utf8')
    },
    env: process.env,
    cwd: process.cwd(),
    log: createLogger('info', process.stderr),
  }
  return run(io, argv)
}

