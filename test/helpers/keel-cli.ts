// Running the real keel command (bin/keel.js over the compiled dist/), as a
// user would, for integration and boot tests.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ConsoleMatcher } from '../../pkg/run/index.js'

/** The repository: the nearest folder up with a package.json (this file also runs compiled, from dist/). */
export const repoRoot = ((): string => {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir)
  return `${dir}/`
})()
export const keelBin = `${repoRoot}bin/keel.js`

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

export function keel(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [keelBin, ...args], {
      cwd: options.cwd ?? repoRoot,
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
    child.stdin.end(options.input ?? '')
  })
}

export interface BootResult {
  /** Every expected line came, in order. */
  ok: boolean
  missing: string | undefined
  /** QEMU's (and so keel run's) exit code; null when it was killed at the deadline. */
  code: number | null
  timedOut: boolean
  console: string
  stderr: string
}

/**
 * Boots a built image with `keel run qemu`, watching its console for
 * `expect` (in order), with a hard deadline after which keel (and with it
 * QEMU) is killed.
 */
export interface ConsoleStep {
  /** When the console shows this (after the previous step's), type `send`. */
  when: string | RegExp
  send: string
}

export function bootAndWatch(
  prefix: string, expect: readonly (string | RegExp)[],
  options: { timeoutMs: number; args?: string[]; script?: ConsoleStep[]; onStart?: (child: ChildProcess) => void },
): Promise<BootResult> {
  return new Promise((resolve, reject) => {
    const matcher = new ConsoleMatcher(expect)
    const steps = [...(options.script ?? [])]
    const stepMatcher = steps.length > 0 ? new ConsoleMatcher(steps.map((s) => s.when), { matchPartial: true }) : undefined
    let stepsDone = 0
    // Under setpriv, keel (and so QEMU) dies with this process: a test killed
    // by tap's timeout must not leave a guest running for the rest of the suite.
    const child: ChildProcess = spawn('setpriv', ['--pdeathsig', 'KILL', process.execPath, keelBin, 'run', 'qemu', '--no-reboot', ...(options.args ?? []), prefix], {
      cwd: repoRoot, stdio: [steps.length > 0 ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    })
    options.onStart?.(child)
    let stderr = ''
    let timedOut = false
    child.stdout!.on('data', (d: Buffer) => {
      matcher.push(d)
      if (!stepMatcher) return
      stepMatcher.push(d)
      // Type each step's input once its trigger has appeared, in order.
      while (stepsDone < stepMatcher.result().seen.length) child.stdin!.write(steps[stepsDone++]!.send)
    })
    child.stderr!.on('data', (d: Buffer) => { stderr += d.toString() })
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGTERM')
      setTimeout(() => child.kill('SIGKILL'), 5000).unref()
    }, options.timeoutMs)
    child.on('error', reject)
    // Wait for keel to exit, then briefly for the rest of its output: a
    // stray QEMU holding the pipe open must not hang the test.
    child.on('exit', (code) => {
      clearTimeout(timer)
      const finish = (): void => {
        matcher.end()
        const r = matcher.result()
        resolve({ ok: r.ok, missing: r.missing, code, timedOut, console: matcher.transcript, stderr })
      }
      const grace = setTimeout(finish, 2000)
      child.once('close', () => { clearTimeout(grace); finish() })
    })
  })
}
