// A unified kernel image: systemd's EFI stub with the kernel, the initrd,
// the command line and os-release added as PE sections (objcopy), so one
// EFI binary boots the whole system. Sections are placed after the stub's
// own, each aligned; the time stamp objcopy puts in is replaced by the
// build's epoch.
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { ToolRunner } from '../../exec/index.js'
import { align, readPeLayout, stampPe } from './pe.js'

export const efiStub = '/usr/lib/systemd/boot/efi/linuxx64.efi.stub'

export interface UkiInput {
  kernel: string
  initrd: string
  cmdline: string
  /** os-release text for the .osrel section. */
  osRelease: string
}

export async function buildUki(input: UkiInput, out: string, work: string, epoch: number, runner: ToolRunner): Promise<void> {
  const stub = await readFile(efiStub)
  const layout = readPeLayout(stub)
  const cmdlineFile = join(work, 'uki-cmdline')
  const osrelFile = join(work, 'uki-osrel')
  await writeFile(cmdlineFile, input.cmdline)
  await writeFile(osrelFile, input.osRelease)
  const sizes = {
    osrel: Buffer.byteLength(input.osRelease),
    cmdline: Buffer.byteLength(input.cmdline),
    linux: (await readFile(input.kernel)).length,
    initrd: (await readFile(input.initrd)).length,
  }
  const args: string[] = []
  let rva = layout.nextFreeRva
  for (const [name, file, size] of [
    ['.osrel', osrelFile, sizes.osrel], ['.cmdline', cmdlineFile, sizes.cmdline],
    ['.linux', input.kernel, sizes.linux], ['.initrd', input.initrd, sizes.initrd],
  ] as const) {
    const vma = layout.imageBase + BigInt(rva)
    args.push('--add-section', `${name}=${file}`, '--change-section-vma', `${name}=0x${vma.toString(16)}`)
    rva = align(rva + Math.max(size, 1), layout.sectionAlignment)
  }
  await runner.run('objcopy', [...args, efiStub, out])
  const pe = await readFile(out)
  stampPe(pe, epoch)
  await writeFile(out, pe)
}
