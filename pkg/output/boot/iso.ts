// ISO images with xorriso: BIOS (isolinux, hybrid so it boots from a disk
// too), EFI (an El Torito EFI image holding a unified kernel image). Every
// date in the image is the build's epoch.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { ToolRunner } from '../../exec/index.js'
import { buildFatImage } from './fat.js'
import { osRelease, type BootFiles } from './disk.js'
import { buildUki } from './uki.js'

export const isolinuxDir = '/usr/lib/ISOLINUX'
export const syslinuxBiosModules = '/usr/lib/syslinux/modules/bios'

function isoDate(epoch: number): string {
  const d = new Date(epoch * 1000)
  const p = (n: number): string => String(n).padStart(2, '0')
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}00`
}

/** xorriso arguments that fix every date and identifier in the image. */
function fixedDates(epoch: number): string[] {
  const date = isoDate(epoch)
  return [
    '-volume_date', 'c', date, '-volume_date', 'm', date, '-volume_date', 'x', 'default', '-volume_date', 'f', 'default',
    '-volume_date', 'uuid', date, '-volume_date', 'all_file_dates', 'set_to_mtime',
    // nodes without a source file (directories, the boot catalog) take "now": fix it
    '-iso_nowtime', `=${epoch}`,
  ]
}

/** After the last -map: every file's and folder's mtime is the epoch (the rest follow it). */
function fileDates(epoch: number): string[] {
  return ['-alter_date_r', 'm', `=${epoch}`, '/', '--']
}

export interface IsoOptions {
  epoch: number
  runner: ToolRunner
  work: string
  volumeId?: string
}

export async function writeIsoBios(boot: BootFiles, out: string, o: IsoOptions): Promise<void> {
  const cfg = join(o.work, 'isolinux.cfg')
  await writeFile(cfg, `DEFAULT linux\nPROMPT 0\nTIMEOUT 0\nLABEL linux\n  KERNEL /kernel\n  INITRD /initrd.img\n  APPEND ${boot.cmdline}\n`)
  await o.runner.run('xorriso', [
    '-report_about', 'WARNING', ...fixedDates(o.epoch), '-outdev', out, '-volid', o.volumeId ?? 'KEEL',
    '-map', boot.kernel, '/kernel',
    '-map', boot.initrd, '/initrd.img',
    '-map', join(isolinuxDir, 'isolinux.bin'), '/isolinux/isolinux.bin',
    '-map', join(syslinuxBiosModules, 'ldlinux.c32'), '/isolinux/ldlinux.c32',
    '-map', cfg, '/isolinux/isolinux.cfg',
    ...fileDates(o.epoch),
    '-boot_image', 'isolinux', 'dir=/isolinux',
    '-boot_image', 'isolinux', `system_area=${join(isolinuxDir, 'isohdpfx.bin')}`,
    '-boot_image', 'isolinux', 'partition_table=on',
  ], { env: { SOURCE_DATE_EPOCH: String(o.epoch) } })
}

export async function writeIsoEfi(boot: BootFiles, out: string, o: IsoOptions): Promise<void> {
  const uki = join(o.work, 'BOOTX64.EFI')
  await buildUki({ kernel: boot.kernel, initrd: boot.initrd, cmdline: boot.cmdline, osRelease }, uki, o.work, o.epoch, o.runner)
  const efiboot = join(o.work, 'efiboot.img')
  const { stat } = await import('node:fs/promises')
  const size = Math.max(8 * 1024 * 1024, Math.ceil(((await stat(uki)).size * 1.05 + 2 * 1024 * 1024) / (1024 * 1024)) * 1024 * 1024)
  await buildFatImage(efiboot, [{ path: 'EFI/BOOT/BOOTX64.EFI', source: uki }], { sizeBytes: size, label: 'EFIBOOT', epoch: o.epoch, runner: o.runner })
  await o.runner.run('xorriso', [
    '-report_about', 'WARNING', ...fixedDates(o.epoch), '-outdev', out, '-volid', o.volumeId ?? 'KEEL',
    '-map', efiboot, '/efiboot.img',
    ...fileDates(o.epoch),
    '-boot_image', 'any', 'efi_path=/efiboot.img',
    '-boot_image', 'any', 'platform_id=0xef',
    '-boot_image', 'any', 'emul_type=no_emulation',
  ], { env: { SOURCE_DATE_EPOCH: String(o.epoch) } })
}
