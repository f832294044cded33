// One boot of a freshly built image under QEMU, only to time it: the console
// is read until init says "all services started" (or the time is up), then
// QEMU is stopped. Disks boot with -snapshot, so the boot changes nothing in
// the files the build wrote. The cheapest output is booted: kernel+initrd
// (QEMU loads the kernel itself), then a BIOS image (SeaBIOS), then a UEFI
// one (OVMF, with a throwaway copy of its variable store).
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { requireTools } from '../exec/index.js'
import {
  cheapestBoot, chooseAccel, ConsoleMatcher, debianOvmf, findBootInputs, ovmfWithVars, startQemu,
  type Accel, type BootInput, type Firmware, type Unbootable,
} from '../run/index.js'
import { estimateKernelStart, LineClock } from './clock.js'
import { parseBootConsole } from './events.js'
import type { BootedImage, BootOutcome, FirmwareName } from './html.js'

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
  /** OVMF's code and variable-store template (Debian's ovmf package by default). */
  ovmf?: { code: string; vars: string }
  /** Told what is about to happen (e.g. for a log line). */
  onProgress?: (message: string) => void
}

/** What the report boots, and with which firmware. */
export interface BootChoice {
  boot: BootInput
  firmware: FirmwareName
}

const allStarted = /^\[init [0-9.]+\] all services started /

/** QEMU's format names, in words. */
const diskWords: Record<string, string> = { raw: 'raw disk', qcow2: 'qcow2 disk', vpc: 'VHD disk', vhdx: 'VHDX disk', vmdk: 'VMDK disk' }

/** The file to name for a boot input, and what it is. */
export function describeBoot(b: BootInput): { file: string; what: string } {
  if (b.kind === 'kernel+initrd') {
    return { file: b.kernel, what: b.root === undefined ? 'kernel+initrd' : `kernel+initrd, root on ${basename(b.root)}` }
  }
  if (b.kind === 'iso') return { file: b.path, what: b.uefi ? 'UEFI ISO' : 'BIOS ISO' }
  return { file: b.path, what: `${b.uefi ? 'UEFI' : 'BIOS'} ${diskWords[b.format] ?? `${b.format} disk`}` }
}

/**
 * The cheapest of the boot inputs, or a note that there is none, naming
 * each output that was passed over and why.
 */
export function pickBoot(candidates: readonly BootInput[], unbootable: readonly Unbootable[]): { choice?: BootChoice; skip?: string } {
  const best = cheapestBoot(candidates)
  if (best) {
    const uefi = best.kind !== 'kernel+initrd' && best.uefi
    return { choice: { boot: best, firmware: uefi ? 'OVMF' : 'SeaBIOS' } }
  }
  const why = unbootable.map((u) => `${basename(u.file)}: ${u.reason}`).join('; ')
  return { skip: `Boot timeline skipped: none of the formats built is one keel run qemu boots${why ? ` (${why})` : ''}. Add -f kernel+initrd to time the boot.` }
}

/** The output this build wrote that is cheapest to boot, or why there is none. */
export async function chooseBootInput(dir: string, name: string, written: readonly string[]): Promise<{ choice?: BootChoice; skip?: string }> {
  const { candidates, unbootable } = await findBootInputs(dir, name, written)
  return pickBoot(candidates, unbootable)
}

async function isFile(p: string): Promise<boolean> {
  return (await stat(p).catch(() => undefined))?.isFile() === true
}

/** Boots the built image once and reads its timeline from the console. */
export async function timeBoot(options: TimedBootOptions): Promise<BootOutcome> {
  const { choice, skip } = await chooseBootInput(options.dir, options.name, options.written)
  if (!choice) return { status: 'skipped', note: skip ?? 'Boot timeline skipped.' }
  const { boot } = choice
  const described = describeBoot(boot)
  const ovmf = options.ovmf ?? debianOvmf
  if (choice.firmware === 'OVMF' && !(await isFile(ovmf.code) && await isFile(ovmf.vars))) {
    return {
      status: 'skipped',
      note: `Boot timeline skipped: ${basename(described.file)} boots only with UEFI firmware, and OVMF is not installed (${ovmf.code}, ${ovmf.vars}: Debian package ovmf). Add -f kernel+initrd to time the boot.`,
    }
  }
  requireTools([{ command: options.qemu ?? 'qemu-system-x86_64', debianPackage: 'qemu-system-x86' }])
  const { accel } = await chooseAccel('auto', options.cacheDir === undefined ? {} : { cacheDir: options.cacheDir })
  const booted: BootedImage = { file: basename(described.file), what: described.what, firmware: choice.firmware, accel }
  options.onProgress?.(`booting ${described.file} (${described.what}) with ${choice.firmware} under ${accel} to time it (at most ${Math.round(options.timeoutMs / 1000)} s)`)

  // OVMF writes its variables: it gets a copy, thrown away after the boot.
  const scratch = choice.firmware === 'OVMF' ? await mkdtemp(join(tmpdir(), 'keel-report-ovmf-')) : undefined
  try {
    const firmware = scratch === undefined ? undefined : await ovmfWithVars(join(scratch, 'OVMF_VARS.fd'), { ovmf })
    return await watchBoot(options, boot, accel, booted, firmware)
  } finally {
    if (scratch !== undefined) await rm(scratch, { recursive: true, force: true })
  }
}

async function watchBoot(options: TimedBootOptions, boot: BootInput, accel: Accel, booted: BootedImage, firmware: Firmware | undefined): Promise<BootOutcome> {
  const matcher = new ConsoleMatcher([allStarted])
  const clock = new LineClock()
  const started = performance.now()
  const vm = startQemu({
    boot, accel, cpus: 1, memoryMiB: options.memoryMiB ?? 1024, noReboot: true,
    ...(firmware === undefined ? {} : { firmware }),
    // Disks are the build's outputs: the guest's writes go to a throwaway overlay.
    ...(boot.kind === 'kernel+initrd' && boot.root === undefined ? {} : { extraArgs: ['-snapshot'] }),
  }, { stdio: 'pipe', ...(options.qemu === undefined ? {} : { qemu: options.qemu }) })
  let stderr = ''
  vm.child.stdout?.on('data', (d: Buffer) => {
    clock.push(d.toString('utf8'), (performance.now() - started) / 1000)
    matcher.push(d)
  })
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
  const firmwareSeconds = estimateKernelStart(clock.lines)
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
  return {
    status: outcome, note, booted, timeline, hostSeconds, console: consoleText,
    ...(firmwareSeconds === undefined ? {} : { firmwareSeconds }),
  }
}
