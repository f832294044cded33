// One boot of a freshly built image under QEMU, only to time it: the console
// is read until init says "all services started" (or the time is up), then
// QEMU is stopped. Disks boot with -snapshot, so the boot changes nothing in
// the files the build wrote.
import { resolve } from 'node:path'
import { requireTools } from '../exec/index.js'
import { chooseAccel, ConsoleMatcher, detectBootInput, startQemu, type BootInput } from '../run/index.js'
import { parseBootConsole } from './events.js'
import type { BootOutcome } from './html.js'

export interface TimedBootOptions {
  /** The output folder and base name the build used. */
  dir: string
  name: string
  /** Every file the build wrote (absolute paths). */
  written: string[]
  timeoutMs: number
  /** Where the KVM probe keeps its answer. */
  cacheDir?: string
  memoryMiB?: number
  qemu?: string
  /** Told what is about to happen (e.g. for a log line). */
  onProgress?: (message: string) => void
}

const allStarted = /^\[init [0-9.]+\] all services started /

/** A boot input all of whose files this build wrote, or why there is none. */
export async function chooseBootInput(dir: string, name: string, written: string[]): Promise<{ boot?: BootInput; skip?: string }> {
  const ours = new Set(written.map((f) => resolve(f)))
  const filesOf = (b: BootInput): string[] =>
    b.kind === 'kernel+initrd' ? [b.kernel, b.initrd, ...(b.root === undefined ? [] : [b.root])] : [b.path]
  const candidates = [resolve(dir, name), ...written.filter((f) => !/(\.spdx\.json|\.html)$/.test(f))]
  let uefiOnly: string | undefined
  for (const c of candidates) {
    let boot: BootInput
    try {
      boot = await detectBootInput(c)
    } catch {
      continue // not bootable as it is (e.g. a cloud upload): try the next file
    }
    if (!filesOf(boot).every((f) => ours.has(resolve(f)))) continue
    if (boot.kind !== 'kernel+initrd' && boot.uefi) {
      uefiOnly ??= boot.path
      continue
    }
    return { boot }
  }
  const formats = uefiOnly === undefined
    ? 'none of the formats built is one keel run qemu boots'
    : `${uefiOnly} needs UEFI firmware, which the report's boot does not use`
  return { skip: `Boot timeline skipped: ${formats}. Add -f kernel+initrd to time the boot.` }
}

function describe(boot: BootInput): string {
  return boot.kind === 'kernel+initrd' ? boot.kernel : boot.path
}

/** Boots the built image once and reads its timeline from the console. */
export async function timeBoot(options: TimedBootOptions): Promise<BootOutcome> {
  const { boot, skip } = await chooseBootInput(options.dir, options.name, options.written)
  if (!boot) return { status: 'skipped', note: skip ?? 'Boot timeline skipped.' }
  requireTools([{ command: options.qemu ?? 'qemu-system-x86_64', debianPackage: 'qemu-system-x86' }])
  const { accel } = await chooseAccel('auto', options.cacheDir === undefined ? {} : { cacheDir: options.cacheDir })
  const booted = `${describe(boot)} with ${accel}`
  options.onProgress?.(`booting ${booted} to time it (at most ${Math.round(options.timeoutMs / 1000)} s)`)

  const matcher = new ConsoleMatcher([allStarted])
  const started = performance.now()
  const vm = startQemu({
    boot, accel, cpus: 1, memoryMiB: options.memoryMiB ?? 1024, noReboot: true,
    // Disks are the build's outputs: the guest's writes go to a throwaway overlay.
    ...(boot.kind === 'kernel+initrd' && boot.root === undefined ? {} : { extraArgs: ['-snapshot'] }),
  }, { stdio: 'pipe', ...(options.qemu === undefined ? {} : { qemu: options.qemu }) })
  let stderr = ''
  vm.child.stdout?.on('data', (d: Buffer) => matcher.push(d))
  vm.child.stderr?.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000) })

  let timer: NodeJS.Timeout | undefined
  const outcome = await Promise.race([
    matcher.whenDone().then(() => 'done' as const),
    vm.exited.then(() => 'exited' as const, () => 'exited' as const),
    new Promise<'timeout'>((r) => { timer = setTimeout(() => r('timeout'), options.timeoutMs) }),
  ])
  clearTimeout(timer)
  const hostSeconds = (performance.now() - started) / 1000
  await vm.stop(2000)
  matcher.end()
  const consoleText = matcher.transcript
  const timeline = parseBootConsole(consoleText)
  const all = timeline.events.find((e) => e.kind === 'services')
  let note: string
  if (outcome === 'done') {
    note = all ? `All services started ${all.at.toFixed(3)} s after the kernel started.` : 'All services started.'
  } else if (outcome === 'timeout') {
    note = `Init's "all services started" line did not come within ${Math.round(options.timeoutMs / 1000)} s (--report-timeout); the timeline ends at the last milestone seen.`
  } else {
    const why = stderr.trim().split('\n').pop() ?? ''
    note = `QEMU stopped before init's "all services started" line${why ? `: ${why}` : ''}; the timeline ends at the last milestone seen.`
  }
  return { status: outcome, note, booted, timeline, hostSeconds, console: consoleText }
}
