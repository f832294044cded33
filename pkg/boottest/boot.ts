// Booting one case under QEMU and watching its console: the expected lines in
// order (typing the `send:` lines), the failure patterns on every line, a
// hard deadline. The whole console goes to a log file as it arrives.
import { createWriteStream } from 'node:fs'
import { type Accel, startQemu, type BootInput, type Firmware } from '../run/index.js'
import { describeItem, ExpectScript, LineSplitter, type ExpectItem } from './expect.js'
import { FailureScanner, type FailureHit } from './scan.js'

export interface BootOptions {
  boot: BootInput
  accel: Accel
  cpus: number
  memoryMiB: number
  firmware?: Firmware
  disks: Array<{ path: string; format: string }>
  expect: readonly ExpectItem[]
  /** Failure pattern ids not to fail on. */
  allow: readonly string[]
  timeoutMs: number
  /** After the last expected line, how long the guest has to power off before it is stopped (not a failure). */
  settleMs: number
  /** After a failure pattern, how long to keep reading (the rest of a kernel trace) before stopping. */
  traceMs: number
  consoleLog: string
  qemu?: string
}

export interface BootOutcome {
  /** Every expected line came. */
  matched: boolean
  /** The first expected item that never came. */
  missing: string | undefined
  missingLine: number | undefined
  hit: FailureHit | undefined
  timedOut: boolean
  /** keel stopped QEMU (after the settle time, a hit or the deadline) rather than the guest powering off. */
  stopped: boolean
  exit: { code: number | null; signal: NodeJS.Signals | null }
  lines: number
  /** QEMU's own stderr (its errors), last lines. */
  qemuStderr: string
  argv: string[]
}

export async function bootCase(o: BootOptions): Promise<BootOutcome> {
  const log = createWriteStream(o.consoleLog)
  const vm = startQemu({
    boot: o.boot, accel: o.accel, cpus: o.cpus, memoryMiB: o.memoryMiB, disks: o.disks, noReboot: true,
    ...(o.firmware ? { firmware: o.firmware } : {}),
  }, { stdio: 'pipe', ...(o.qemu ? { qemu: o.qemu } : {}) })
  const child = vm.child
  const splitter = new LineSplitter()
  const scanner = new FailureScanner(o.allow)
  const script = new ExpectScript(o.expect, (text) => { child.stdin?.write(text) })
  let lines = 0
  let stderr = ''
  let timedOut = false
  let stopped = false
  let stopTimer: NodeJS.Timeout | undefined
  const stopIn = (ms: number): void => {
    if (stopTimer) return
    stopTimer = setTimeout(() => {
      stopped = true
      void vm.stop(3000)
    }, ms)
  }
  const onLine = (line: string): void => {
    lines++
    if (!scanner.hit && scanner.scan(line)) stopIn(o.traceMs)
    const wasDone = script.done
    script.line(line)
    if (!wasDone && script.done) stopIn(o.settleMs)
  }
  child.stdin?.on('error', () => undefined) // QEMU gone while we type: its exit says why
  child.stdout!.on('data', (d: Buffer) => {
    log.write(d)
    for (const line of splitter.push(d.toString('utf8'))) onLine(line)
    const wasDone = script.done
    script.partial(splitter.partial)
    if (!wasDone && script.done) stopIn(o.settleMs)
  })
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-8192)
  })
  const deadline = setTimeout(() => {
    timedOut = true
    stopped = true
    void vm.stop(3000)
  }, o.timeoutMs)
  script.start()
  if (script.done) stopIn(o.settleMs)

  let exit: BootOutcome['exit']
  try {
    exit = await vm.exited
  } catch (err) {
    clearTimeout(deadline)
    if (stopTimer) clearTimeout(stopTimer)
    log.end()
    throw new Error(`starting QEMU: ${(err as Error).message}`, { cause: err })
  }
  clearTimeout(deadline)
  if (stopTimer) clearTimeout(stopTimer)
  // The rest of the output, briefly: a stray process holding the pipe must not hang us.
  if (child.stdout && !child.stdout.readableEnded) {
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 2000)
      child.stdout!.once('end', () => { clearTimeout(t); resolve() })
    })
  }
  for (const line of splitter.end()) onLine(line)
  await new Promise<void>((resolve) => log.end(resolve))
  const missing = script.missing
  return {
    matched: script.done,
    missing: missing ? describeItem(missing) : undefined,
    missingLine: missing?.line,
    hit: scanner.hit,
    timedOut,
    stopped,
    exit,
    lines,
    qemuStderr: stderr.trim(),
    argv: vm.argv,
  }
}
