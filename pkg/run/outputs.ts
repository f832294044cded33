// What to boot among the files a build wrote: the boot inputs all of whose
// files the build wrote (an older build's files may lie beside them), the
// outputs that boot only once unpacked (named, with why), and the cheapest
// to boot. `keel build --report` times the cheapest; `keel test` boots what
// a one-format build wrote.
import { basename, resolve } from 'node:path'
import { detectBootInput } from './detect.js'
import type { BootInput } from './qemu-args.js'

/** An output of the build that is not booted as it is, and why. */
export interface Unbootable {
  file: string
  reason: string
}

/** Outputs that are archives for another tool, not machine images, by how keel names them. */
const archives: Array<[RegExp, string]> = [
  [/\.img\.tar\.gz$/, 'a Compute Engine upload (disk.raw in a tar.gz), which boots only once unpacked'],
  [/-docker\.tar$/, 'an image for docker load, not a machine image'],
  [/-initrd\.tar$/, 'the kernel, initrd and command line in a tar, which boot only once unpacked'],
  [/\.tar$/, 'the root file system as a tar, not a bootable image'],
]

/** Why keel does not boot this output file as it is, when its name says so. */
export function archiveReason(file: string): string | undefined {
  return archives.find(([re]) => re.test(basename(file)))?.[1]
}

/** The files QEMU (or another hypervisor) reads for a boot input. */
export function bootPaths(boot: BootInput): string[] {
  if (boot.kind !== 'kernel+initrd') return [boot.path]
  return [boot.kernel, boot.initrd, ...(boot.root === undefined ? [] : [boot.root])]
}

/**
 * How dear a boot is, lowest first: QEMU loading the kernel itself skips the
 * firmware's disk boot and the boot loader; a root on a disk adds a device to
 * find; SeaBIOS starts in well under a second where OVMF, under TCG, takes
 * several; and among images, a raw disk needs no format driver.
 */
export function bootCost(b: BootInput): number {
  if (b.kind === 'kernel+initrd') return b.root === undefined ? 0 : 1
  const media = b.kind === 'iso' ? 3 : b.format === 'raw' ? 2 : b.format === 'qcow2' ? 4 : 5
  return (b.uefi ? 10 : 0) + media
}

/** The cheapest of some boot inputs to boot (bootCost), or undefined when there are none. */
export function cheapestBoot(candidates: readonly BootInput[]): BootInput | undefined {
  return [...candidates].sort((a, b) => bootCost(a) - bootCost(b))[0]
}

/** Every boot input all of whose files this build wrote, and the outputs that are none. */
export async function findBootInputs(dir: string, name: string, written: readonly string[]): Promise<{ candidates: BootInput[]; unbootable: Unbootable[] }> {
  const ours = new Set(written.map((f) => resolve(f)))
  const outputs = written.filter((f) => !/(\.spdx\.json|\.html)$/.test(f))
  const candidates: BootInput[] = []
  const unbootable: Unbootable[] = []
  const seen = new Set<string>()
  for (const c of [resolve(dir, name), ...outputs]) {
    const isOutput = c !== resolve(dir, name)
    const archive = archiveReason(c)
    if (archive !== undefined) {
      if (isOutput) unbootable.push({ file: c, reason: archive })
      continue
    }
    let boot: BootInput
    try {
      boot = await detectBootInput(c)
    } catch (err) {
      if (isOutput) unbootable.push({ file: c, reason: (err as Error).message.replace(`${c}: `, '') })
      continue
    }
    // Only what this build wrote: an older build's files may lie beside it.
    if (!bootPaths(boot).every((f) => ours.has(resolve(f)))) continue
    const key = JSON.stringify(boot)
    if (seen.has(key)) continue
    seen.add(key)
    candidates.push(boot)
  }
  return { candidates, unbootable }
}
