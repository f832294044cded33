// Booting one case under QEMU and watching its console: the expected lines in
// order (typing the `send:` lines, running the `run:` host commands,
// pressing the power button, cutting the power and booting again as the
// expect file says), the failure patterns on every line, a hard deadline for
// the whole case. The whole console, every boot of it, goes to a log file as
// it arrives.
import { createWriteStream } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  type Accel, pressPowerButton, startQemu, type BootInput, type Firmware, type FwCfgItem, type Networking,
  type PublishedPort, type QemuProcess,
} from '../run/index.js'
import { describeItem, ExpectScript, LineSplitter, type ActionItem, type ExpectItem } from './expect.js'
import { HostCommands, type CommandFailure } from './host-commands.js'
import { FailureScanner, type FailureHit } from './scan.js'

export interface BootOptions {
  boot: BootInput
  accel: Accel
  cpus: number
  memoryMiB: number
  firmware?: Firmware
  disks: Array<{ path: string; format: string }>
  networking?: Networking
  publish?: readonly PublishedPort[]
  /** Read-only CD-ROMs (the metadata CD). */
  cdroms?: readonly string[]
  fwCfg?: readonly FwCfgItem[]
  expect: readonly ExpectItem[]
  /** Failure pattern ids not to fail on. */
  allow: readonly string[]
  /** The deadline of the whole case: every boot, and the `run:` commands. */
  timeoutMs: number
  /** After the last expected line, how long the guest has to power off before it is stopped (not a failure). */
  settleMs: number
  /** After a failure pattern, how long to keep reading (the rest of a kernel trace) before stopping. */
  traceMs: number
  consoleLog: string
  /** Where `run:` commands run, their environment, and the file their output goes to. */
  commands?: { cwd: string; env: NodeJS.ProcessEnv; log: string }
  qemu?: string
}

export interface BootOutcome {
  /** Every expected line came. */
  matched: boolean
  /** The first expected item that never came. */
  missing: string | undefined
  missingLine: number | undefined
  hit: FailureHit | undefined
  /** The first `run:` command that failed. */
  commandFailure: CommandFailure | undefined
  timedOut: boolean
  /** keel stopped QEMU (after the settle time, a hit, a failed command or the deadline) rather than the guest powering off. */
  stopped: boolean
  /** The last QEMU's exit. */
  exit: { code: number | null; signal: NodeJS.Signals | null }
  /** How many times QEMU was started. */
  boots: number
  lines: number
  /** QEMU's own stderr (its errors), last lines. */
  qemuStderr: string
  argv: string[]
}

export async function bootCase(o: BootOptions): Promise<BootOutcome> {
  const log = createWriteStream(o.consoleLog)
  const scanner = new FailureScanner(o.allow)
  // A short path for QMP's socket (Unix socket paths are limited to 108 bytes).
  const qmpDir = await mkdtemp(join(tmpdir(), 'keel-test-qmp-'))
  const qmpSocket = join(qmpDir, 'qmp.sock')
  let vm: QemuProcess | undefined
  let lines = 0
  let stderr = ''
  let timedOut = false
  let stopped = false
  let stopTimer: NodeJS.Timeout | undefined
  /** Set when the script reaches a `boot:`: QEMU's next exit starts it again. */
  let bootAgain: boolean
  /** The guest's power was cut on purpose (`kill:`): its exit is not keel stopping it. */
  let powerCut: boolean
  const stopVm = (): void => {
    stopped = true
    void vm?.stop(3000)
  }
  /** Stops QEMU after `ms`, unless a stop is already on its way. */
  const stopIn = (ms: number): void => {
    if (stopTimer || stopped) return
    stopTimer = setTimeout(stopVm, ms)
  }
  const stopNow = (): void => {
    clearTimeout(stopTimer)
    stopVm()
  }
  let partial = ''
  const commands = new HostCommands(o.commands ?? { cwd: process.cwd(), env: process.env, log: '/dev/null' }, {
    onFailure: () => stopNow(),
    onSuccess: () => {
      script.resume()
      script.partial(partial)
      settleIfDone()
    },
  })
  const act = (item: ActionItem): void => {
    log.write(`\n[keel test] ${describeItem(item)} (expect line ${item.line})\n`)
    if (item.kind === 'run') commands.start(item)
    else if (item.kind === 'powerdown') {
      pressPowerButton(qmpSocket).catch((err: unknown) => log.write(`[keel test] could not press the power button: ${(err as Error).message}\n`))
    } else if (item.kind === 'kill') {
      powerCut = true
      vm?.kill()
    } else if (item.kind === 'boot') bootAgain = true
  }
  const script = new ExpectScript(o.expect, (text) => { vm?.child.stdin?.write(text) }, act)
  function settleIfDone(): void {
    if (script.done && commands.running === 0 && !commands.failure) stopIn(o.settleMs)
  }
  const onLine = (line: string): void => {
    lines++
    if (!scanner.hit && scanner.scan(line)) stopIn(o.traceMs)
    script.line(line)
    settleIfDone()
  }
  const deadline = setTimeout(() => {
    timedOut = true
    bootAgain = false
    commands.killAll()
    stopNow()
  }, o.timeoutMs)

  let exit: BootOutcome['exit']
  let argv: string[]
  let boots = 0
  try {
    for (;;) {
      boots++
      bootAgain = false
      powerCut = false
      if (boots > 1) log.write(`\n[keel test] boot ${boots}\n`)
      const started = startQemu({
        boot: o.boot, accel: o.accel, cpus: o.cpus, memoryMiB: o.memoryMiB, disks: o.disks, noReboot: true, qmpSocket,
        ...(o.firmware ? { firmware: o.firmware } : {}),
        ...(o.networking ? { networking: o.networking } : {}),
        ...(o.publish && o.publish.length > 0 ? { publish: o.publish } : {}),
        ...(o.cdroms && o.cdroms.length > 0 ? { cdroms: o.cdroms } : {}),
        ...(o.fwCfg && o.fwCfg.length > 0 ? { fwCfg: o.fwCfg } : {}),
      }, { stdio: 'pipe', ...(o.qemu ? { qemu: o.qemu } : {}) })
      vm = started
      argv = started.argv
      const child = started.child
      const splitter = new LineSplitter()
      child.stdin?.on('error', () => undefined) // QEMU gone while we type: its exit says why
      child.stdout!.on('data', (d: Buffer) => {
        log.write(d)
        for (const line of splitter.push(d.toString('utf8'))) onLine(line)
        partial = splitter.partial
        script.partial(partial)
        settleIfDone()
      })
      child.stderr!.on('data', (d: Buffer) => {
        stderr = (stderr + d.toString()).slice(-8192)
      })
      partial = ''
      if (boots === 1) script.start()
      else script.resume()
      settleIfDone()

      try {
        exit = await started.exited
      } catch (err) {
        throw new Error(`starting QEMU: ${(err as Error).message}`, { cause: err })
      }
      // The rest of the output, briefly: a stray process holding the pipe must not hang us.
      if (child.stdout && !child.stdout.readableEnded) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, 2000)
          child.stdout!.once('end', () => { clearTimeout(t); resolve() })
        })
      }
      for (const line of splitter.end()) onLine(line)
      const guestEnded = exit.code === 0 || (powerCut && exit.signal === 'SIGKILL')
      // A run: command still going (it may be what powered the guest off) gets what is left of the deadline.
      await commands.settled()
      if (!bootAgain || script.awaiting !== 'boot' || !guestEnded || stopped || scanner.hit || commands.failure) break
    }
  } finally {
    clearTimeout(deadline)
    if (stopTimer) clearTimeout(stopTimer)
    vm?.kill()
    commands.killAll()
    await commands.close()
    await new Promise<void>((resolve) => log.end(resolve))
    await rm(qmpDir, { recursive: true, force: true })
  }
  const missing = script.missing
  return {
    matched: script.done,
    missing: missing ? describeItem(missing) : undefined,
    missingLine: missing?.line,
    hit: scanner.hit,
    commandFailure: commands.failure,
    timedOut,
    stopped,
    exit,
    boots,
    lines,
    qemuStderr: stderr.trim(),
    argv,
  }
}
