// Starting QEMU and waiting for the guest to power off. QEMU runs under
// `setpriv --pdeathsig KILL` so that it dies with keel even when keel is
// killed outright; on SIGINT/SIGTERM keel stops it itself.
import { spawn, type ChildProcess } from 'node:child_process'
import { findOnPath } from '../exec/index.js'
import { buildQemuArgs, type QemuConfig } from './qemu-args.js'

export interface QemuProcess {
  child: ChildProcess
  argv: string[]
  /** Resolves with QEMU's exit: code, or the signal that ended it. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** Asks QEMU to stop (SIGTERM), then kills it after `graceMs`. */
  stop(graceMs?: number): Promise<void>
}

export interface StartOptions {
  qemu?: string
  /** 'inherit': the console is our stdio; 'pipe': read it from child.stdout. */
  stdio: 'inherit' | 'pipe'
}

export function startQemu(config: QemuConfig, options: StartOptions): QemuProcess {
  const qemu = options.qemu ?? 'qemu-system-x86_64'
  const args = buildQemuArgs(config)
  const setpriv = findOnPath('setpriv')
  const argv = setpriv ? [setpriv, '--pdeathsig', 'KILL', '--', qemu, ...args] : [qemu, ...args]
  const child = spawn(argv[0]!, argv.slice(1), {
    stdio: options.stdio === 'inherit' ? 'inherit' : ['pipe', 'pipe', 'pipe'],
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', (code, signal) => resolve({ code, signal }))
  })
  const stop = async (graceMs = 5000): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
    await exited.catch(() => undefined)
    clearTimeout(timer)
  }
  return { child, argv, exited, stop }
}
