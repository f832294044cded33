// Running the real keel command (bin/keel.js over the compiled dist/), as a
// user would, for integration and boot tests.
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { ConsoleMatcher } from '../../pkg/run/index.js'

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url))
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
export function bootAndWatch(prefix: string, expect: readonly (string | RegExp)[], options: { timeoutMs: number; args?: string[] }): Promise<BootResult> {
  return new Promise((resolve, reject) => {
    const matcher = new ConsoleMatcher(expect)
    const child: ChildProcess = spawn(process.execPath, [keelBin, 'run', 'qemu', '--no-reboot', ...(options.args ?? []), prefix], {
      cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stderr = ''
    let timedOut = false
    child.stdout!.on('data', (d: Buffer) => { matcher.push(d) })
    child.stderr!.on('data', (d: Buffer) => { stderr += d.toString() })
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGTERM')
      setTimeout(() => child.kill('SIGKILL'), 5000).unref()
    }, options.timeoutMs)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      matcher.end()
      const r = matcher.result()
      resolve({ ok: r.ok, missing: r.missing, code, timedOut, console: matcher.transcript, stderr })
    })
  })
}
