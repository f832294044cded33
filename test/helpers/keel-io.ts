// Running a keel command in this process, over run(io, args) with buffers for
// stdout and stderr: quicker than a child process, for tests that only need
// the exit code and the text.
import { run } from '../../cmd/keel/main.js'
import type { CliIO } from '../../cmd/keel/io.js'
import { createLogger } from '../../pkg/log/index.js'

export interface InProcessResult { code: number; out: string; err: string }

export async function keelInProcess(args: string[], o: { cwd?: string; env?: NodeJS.ProcessEnv; stdin?: string } = {}): Promise<InProcessResult> {
  const out: string[] = []
  const err: string[] = []
  const stderr = { write: (s: string) => err.push(s) }
  const io: CliIO = {
    cwd: o.cwd ?? process.cwd(), env: o.env ?? {}, stdout: { write: (s: string) => out.push(s) }, stderr,
    readStdin: async () => o.stdin ?? '', log: createLogger('info', stderr),
  }
  const code = await run(io, args)
  return { code, out: out.join(''), err: err.join('') }
}
