// Starting QEMU, in the foreground or as a daemon, and stopping it: the ACPI
// power button through QMP first, so the guest shuts down cleanly, then
// SIGKILL after a timeout.
//
// In the foreground QEMU runs under `setpriv --pdeathsig KILL`, so that it
// dies with keel even when keel is killed outright, and in its own process
// group (a terminal's Ctrl-C reaches keel, which decides what to do, and not
// QEMU). A daemon (--detach) outlives keel by design; `keel run stop` ends it.
import { spawn, type ChildProcess } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { ToolError } from '../errors/index.js'
import { findOnPath, processAlive } from '../exec/index.js'
import { buildQemuArgs, type QemuConfig } from './qemu-args.js'
import { QmpClient } from './qmp.js'

export interface QemuExit {
  code: number | null
  signal: NodeJS.Signals | null
}

export interface QemuProcess {
  child: ChildProcess
  argv: string[]
  /** Resolves with QEMU's exit: code, or the signal that ended it. */
  exited: Promise<QemuExit>
  /** Kills QEMU's process group with SIGKILL, now. */
  kill(): void
  /** Asks QEMU to stop (SIGTERM: the guest gets no say), then kills it after `graceMs`. */
  stop(graceMs?: number): Promise<void>
}

export interface StartOptions {
  qemu?: string
  /**
   * 'inherit': the console is our stdio; 'pipe': read it from child.stdout
   * (and QEMU's errors from child.stderr); 'console': the caller writes
   * QEMU's stdin (keel run does, for its escape key), QEMU writes to our
   * stdout and stderr.
   */
  stdio: 'inherit' | 'pipe' | 'console'
  /** QEMU's working folder (relative socket paths are in it). */
  cwd?: string
}

function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null
}

export function startQemu(config: QemuConfig, options: StartOptions): QemuProcess {
  const qemu = options.qemu ?? 'qemu-system-x86_64'
  const args = buildQemuArgs(config)
  const setpriv = findOnPath('setpriv')
  const argv = setpriv ? [setpriv, '--pdeathsig', 'KILL', '--', qemu, ...args] : [qemu, ...args]
  const child = spawn(argv[0]!, argv.slice(1), {
    stdio: options.stdio === 'inherit' ? 'inherit' : options.stdio === 'pipe' ? ['pipe', 'pipe', 'pipe'] : ['pipe', 'inherit', 'inherit'],
    detached: true,
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  })
  const exited = new Promise<QemuExit>((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', (code, signal) => resolve({ code, signal }))
  })
  const kill = (): void => {
    if (!isRunning(child) || child.pid === undefined) return
    try {
      process.kill(-child.pid, 'SIGKILL')
    } catch {
      child.kill('SIGKILL')
    }
  }
  const stop = async (graceMs = 5000): Promise<void> => {
    if (!isRunning(child)) return
    child.kill('SIGTERM')
    const timer = setTimeout(kill, graceMs)
    await exited.catch(() => undefined)
    clearTimeout(timer)
  }
  return { child, argv, exited, kill, stop }
}

/**
 * Starts QEMU with -daemonize: it forks once the machine is set up, and
 * resolves with the daemon's pid (from its pid file). QEMU's errors before
 * that are a ToolError.
 */
export async function startQemuDaemon(config: QemuConfig, options: { qemu?: string; cwd?: string } = {}): Promise<{ pid: number; argv: string[] }> {
  if (!config.daemonize || config.pidFile === undefined) throw new Error('startQemuDaemon needs daemonize and a pid file')
  const qemu = options.qemu ?? 'qemu-system-x86_64'
  const argv = [qemu, ...buildQemuArgs(config)]
  const child = spawn(qemu, argv.slice(1), {
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  })
  let stderr = ''
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString() })
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (c) => resolve(c))
  })
  if (code !== 0) {
    throw new ToolError(`QEMU failed to start (exit ${code}): ${stderr.trim().split('\n').pop() ?? ''}`, { command: argv.join(' '), exitCode: code ?? undefined, stderr })
  }
  const pid = Number((await readFile(config.pidFile, 'utf8')).trim())
  return { pid, argv }
}

/** Resolves true once `pid` is gone (or a zombie), false after `timeoutMs`. */
export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (!processAlive(pid)) return true
    if (Date.now() >= deadline) return false
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** Presses the machine's ACPI power button through its QMP socket. */
export async function pressPowerButton(qmpSocket: string, timeoutMs = 5000): Promise<void> {
  const qmp = await QmpClient.connect(qmpSocket, timeoutMs)
  try {
    await qmp.execute('system_powerdown')
  } finally {
    qmp.close()
  }
}

export interface StopResult {
  /** 'powered-off': the guest shut down within the timeout; 'killed': it did not, and QEMU was killed; 'gone': it was not running. */
  how: 'powered-off' | 'killed' | 'gone'
  /** Why the power button could not be pressed, when it could not. */
  buttonError?: string
}

/**
 * Stops the QEMU with `pid`: presses the power button, waits up to
 * `timeoutMs` for it to exit, then kills it (its process group when
 * `group`, as a foreground QEMU leads one).
 */
export async function stopQemu(o: { pid: number; qmpSocket: string; timeoutMs: number; group?: boolean; exited?: Promise<unknown> }): Promise<StopResult> {
  if (!processAlive(o.pid)) return { how: 'gone' }
  let buttonError: string | undefined
  try {
    await pressPowerButton(o.qmpSocket, Math.min(5000, o.timeoutMs))
  } catch (err) {
    buttonError = (err as Error).message
  }
  const gone = buttonError === undefined
    ? o.exited
      ? await Promise.race([o.exited.then(() => true, () => true), new Promise<boolean>((r) => setTimeout(() => r(false), o.timeoutMs).unref())])
      : await waitForExit(o.pid, o.timeoutMs)
    : false
  if (gone) return { how: 'powered-off' }
  try {
    process.kill(o.group ? -o.pid : o.pid, 'SIGKILL')
  } catch {
    // already gone
  }
  if (!o.exited) await waitForExit(o.pid, 5000)
  return { how: 'killed', ...(buttonError === undefined ? {} : { buttonError }) }
}
