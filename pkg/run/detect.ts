// What to boot, from what the user named, as LinuxKit's `run qemu` decides:
//   NAME.iso, NAME-efi.iso                     a CD-ROM
//   NAME.img, .raw, .qcow2, .vhd, .vhdx, .vmdk  a disk (format from the extension)
//   NAME.img.tar.gz                            (not bootable as is: a cloud upload)
//   NAME (or NAME-kernel, -initrd.img, -cmdline) a kernel+initrd prefix
//   NAME-squashfs.img, NAME-erofs.img, NAME.iso beside NAME-kernel and
//     NAME-TYPE-initrd.img (or NAME alone, with no NAME-initrd.img)
//                                             a kernel with its root on a read-only disk
// An "-efi" in the file name means the image boots with UEFI firmware, and so
// does a VHDX (keel writes it for Hyper-V generation 2, which is UEFI only).
import { readFile, stat } from 'node:fs/promises'
import { basename } from 'node:path'
import { UserError } from '../errors/index.js'
import type { BootInput } from './qemu-args.js'

const diskFormats: Record<string, string> = {
  '.img': 'raw', '.raw': 'raw', '.qcow2': 'qcow2', '.vhd': 'vpc', '.vhdx': 'vhdx', '.vmdk': 'vmdk',
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile()
  } catch {
    return false
  }
}

const rootImages: Array<{ type: string, suffix: string }> = [
  { type: 'squashfs', suffix: '-squashfs.img' }, { type: 'erofs', suffix: '-erofs.img' }, { type: 'iso', suffix: '.iso' },
]

async function readCmdline(prefix: string): Promise<string> {
  try {
    return (await readFile(`${prefix}-cmdline`, 'utf8')).trim()
  } catch {
    return '' // no cmdline file: boot with an empty command line
  }
}

/** A kernel+squashfs/erofs/iso set whose root image is `target` or whose prefix is `target`. */
async function rootFsBoot(target: string): Promise<BootInput | undefined> {
  for (const { type, suffix } of rootImages) {
    const prefix = target.endsWith(suffix) ? target.slice(0, -suffix.length) : target
    const kernel = `${prefix}-kernel`
    const initrd = `${prefix}-${type}-initrd.img`
    const root = `${prefix}${suffix}`
    if (await isFile(kernel) && await isFile(initrd) && await isFile(root)) {
      return { kind: 'kernel+initrd', kernel, initrd, cmdline: await readCmdline(prefix), root }
    }
  }
  return undefined
}

export async function detectBootInput(target: string): Promise<BootInput> {
  const name = basename(target)
  const efi = /-efi(\.|-)/.test(name) || name.endsWith('.vhdx')
  if (name.endsWith('.img.tar.gz')) {
    throw new UserError(`${target}: a Compute Engine upload; boot the raw disk inside it, or build -f raw-bios`)
  }
  if (await isFile(target)) {
    const rootfs = await rootFsBoot(target)
    if (rootfs) return rootfs
    if (name.endsWith('.iso')) return { kind: 'iso', path: target, uefi: efi }
    const ext = Object.keys(diskFormats).find((e) => name.endsWith(e))
    if (ext) return { kind: 'disk', path: target, format: diskFormats[ext]!, uefi: efi }
  }
  const prefix = target.replace(/-(kernel|initrd\.img|cmdline)$/, '')
  const kernel = `${prefix}-kernel`
  const initrd = `${prefix}-initrd.img`
  const missing: string[] = []
  for (const f of [kernel, initrd]) if (!(await isFile(f))) missing.push(f)
  if (missing.length > 0) {
    const rootfs = await rootFsBoot(prefix)
    if (rootfs) return rootfs
    throw new UserError(`${target}: nothing to boot: not an ISO or disk image, and ${missing.join(' and ')} not found`, {
      hint: `build it first, e.g. keel build -o . --name ${basename(prefix)} MANIFEST`,
    })
  }
  return { kind: 'kernel+initrd', kernel, initrd, cmdline: await readCmdline(prefix) }
}
