// Bootable raw disks, made as plain files: a FAT partition built with
// mkfs.fat + mtools, put at 1 MiB behind a partition table written by keel.
//   BIOS: MBR with syslinux's boot code, an active FAT partition holding
//         syslinux (installed with `syslinux --install` on the image file),
//         syslinux.cfg, the kernel and the initrd.
//   EFI:  GPT with an EFI system partition holding EFI/BOOT/BOOTX64.EFI, a
//         unified kernel image (kernel, initrd and command line in one).
import { open, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { UserError } from '../../errors/index.js'
import type { ToolRunner } from '../../exec/index.js'
import { buildFatImage } from './fat.js'
import { espType, gpt, mbr, sector } from './partition.js'
import { buildUki } from './uki.js'

export const syslinuxMbr = '/usr/lib/syslinux/mbr/mbr.bin'
const MiB = 1024 * 1024

export interface BootFiles {
  kernel: string
  initrd: string
  cmdline: string
}

export interface DiskOptions {
  /** Whole disk size in bytes (--size); default: what the files need plus room. */
  sizeBytes?: number
  epoch: number
  runner: ToolRunner
  /** A scratch folder. */
  work: string
}

export const osRelease = 'NAME="keel"\nID=keel\nPRETTY_NAME="keel"\n'

export function syslinuxConfig(cmdline: string): string {
  return `DEFAULT linux\nPROMPT 0\nTIMEOUT 0\nLABEL linux\n  KERNEL /kernel\n  INITRD /initrd.img\n  APPEND ${cmdline}\n`
}

/** The FAT size for `bytes` of files: room for FAT overhead, whole MiB, at least 48 MiB. */
async function fatSizeFor(files: readonly string[]): Promise<number> {
  let total = 0
  for (const f of files) total += (await stat(f)).size
  return Math.max(48 * MiB, Math.ceil((total * 1.1 + 4 * MiB) / MiB) * MiB)
}

function diskSize(fatBytes: number, trailer: number, requested: number | undefined): number {
  const needed = MiB + fatBytes + trailer
  if (requested === undefined) return needed
  if (requested < needed) throw new UserError(`--size ${requested} bytes is too small: this image needs at least ${Math.ceil(needed / MiB)} MiB`)
  return Math.ceil(requested / sector) * sector
}

/** A sparse file of `size` bytes with `pieces` written at their offsets. */
async function writeDisk(out: string, size: number, pieces: Array<{ at: number; data: Buffer } | { at: number; file: string }>): Promise<void> {
  const fh = await open(out, 'wx', 0o644)
  try {
    await fh.truncate(size)
    for (const p of pieces) {
      if ('data' in p) {
        await fh.write(p.data, 0, p.data.length, p.at)
        continue
      }
      const src = await open(p.file, 'r')
      try {
        const buf = Buffer.alloc(4 * MiB)
        let pos = 0
        for (;;) {
          const { bytesRead } = await src.read(buf, 0, buf.length, pos)
          if (bytesRead === 0) break
          // Leave runs of zeros as holes.
          if (!buf.subarray(0, bytesRead).every((b) => b === 0)) await fh.write(buf, 0, bytesRead, p.at + pos)
          pos += bytesRead
        }
      } finally {
        await src.close()
      }
    }
  } finally {
    await fh.close()
  }
}

function fatPartitionType(fatImage: Buffer): number {
  return fatImage.subarray(0x52, 0x5a).toString('latin1').startsWith('FAT32') ? 0x0c : 0x0e
}

export async function writeRawBios(boot: BootFiles, out: string, o: DiskOptions): Promise<void> {
  const cfg = join(o.work, 'syslinux.cfg')
  await writeFile(cfg, syslinuxConfig(boot.cmdline))
  const fatBytes = await fatSizeFor([boot.kernel, boot.initrd])
  const fat = join(o.work, 'boot.fat')
  await buildFatImage(fat, [
    { path: 'kernel', source: boot.kernel },
    { path: 'initrd.img', source: boot.initrd },
    { path: 'syslinux.cfg', source: cfg },
  ], { sizeBytes: fatBytes, label: 'KEEL', epoch: o.epoch, runner: o.runner })
  await o.runner.run('syslinux', ['--install', fat], { env: { SOURCE_DATE_EPOCH: String(o.epoch), TZ: 'UTC' } })
  const size = diskSize(fatBytes, 0, o.sizeBytes)
  const head = await readFile(fat, { flag: 'r' }).then((b) => b.subarray(0, 512))
  const table = mbr([{ firstLba: MiB / sector, sectors: fatBytes / sector, type: fatPartitionType(head), bootable: true }],
    (await readFile(syslinuxMbr)).subarray(0, 440), 0x4b45454c)
  await writeDisk(out, size, [{ at: 0, data: table }, { at: MiB, file: fat }])
}

export async function writeRawEfi(boot: BootFiles, out: string, o: DiskOptions): Promise<void> {
  const uki = join(o.work, 'BOOTX64.EFI')
  await buildUki({ kernel: boot.kernel, initrd: boot.initrd, cmdline: boot.cmdline, osRelease }, uki, o.work, o.epoch, o.runner)
  const fatBytes = await fatSizeFor([uki])
  const fat = join(o.work, 'esp.fat')
  await buildFatImage(fat, [{ path: 'EFI/BOOT/BOOTX64.EFI', source: uki }], { sizeBytes: fatBytes, label: 'ESP', epoch: o.epoch, runner: o.runner })
  const size = diskSize(fatBytes, MiB, o.sizeBytes)
  const sectors = size / sector
  const first = MiB / sector
  const table = gpt(sectors, [{ type: espType, name: 'EFI System', firstLba: first, lastLba: first + fatBytes / sector - 1 }], `keel-efi-disk`)
  await writeDisk(out, size, [
    { at: 0, data: table.protectiveMbr },
    { at: sector, data: table.primary },
    { at: MiB, file: fat },
    { at: size - table.backup.length, data: table.backup },
  ])
}
