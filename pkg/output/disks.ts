// The bootable formats: ISOs, raw disks (BIOS and EFI) and what is made from
// them (qcow2, cloud images). Each builds from the shared boot files in a
// scratch folder and lands in the output folder by rename.
import { rename, stat, truncate } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { writeRawBios, writeRawEfi, type DiskOptions } from './boot/disk.js'
import { writeIsoBios, writeIsoEfi } from './boot/iso.js'
import { OutputSet } from './files.js'
import type { BootFiles, OutputContext, OutputWriter } from './types.js'
import { writeDynamicVhd, writeFixedVhd, writeVhdx, writeVmdk } from './vdisk/index.js'

/** `final` is the name the output will have once renamed from `out`. */
type Builder = (boot: BootFiles, out: string, o: DiskOptions & { final?: string }) => Promise<void>

/** A writer that builds one file with `build` into a temp name beside its final name. */
function single(suffix: string, build: Builder): OutputWriter {
  return async (ctx: OutputContext) => {
    const boot = await ctx.bootFiles()
    const work = await ctx.scratch()
    const out = new OutputSet()
    try {
      const final = join(ctx.dir, `${ctx.name}${suffix}`)
      const tmp = await out.reserve(final)
      await build(boot, tmp, { epoch: ctx.mtime, runner: ctx.runner, work, final, ...(ctx.sizeBytes ? { sizeBytes: ctx.sizeBytes } : {}) })
      return await out.commit()
    } catch (err) {
      await out.abort()
      throw err
    }
  }
}

type Converter = (raw: string, out: string, o: DiskOptions & { final?: string }) => Promise<void>

/** A raw disk made by `disk`, then converted to another format. */
function converted(suffix: string, disk: Builder, convert: Converter): OutputWriter {
  return single(suffix, async (boot, out, o) => {
    const raw = join(o.work, 'disk.raw')
    await disk(boot, raw, o)
    await convert(raw, out, o)
  })
}

const qcow2: Converter = async (raw, out, o) => {
  await o.runner.run('qemu-img', ['convert', '-q', '-f', 'raw', '-O', 'qcow2', '-o', 'compat=1.1', raw, out])
}

const GiB = 1024 * 1024 * 1024

/**
 * Compute Engine: a gzip'd tar holding only disk.raw, in GNU (oldgnu) format,
 * the disk a whole number of GiB, as Google documents for imported images.
 */
const gcpTarball: Converter = async (raw, out, o) => {
  const dir = dirname(raw)
  const size = (await stat(raw)).size
  await truncate(raw, Math.ceil(size / GiB) * GiB) // the MBR's partition ends earlier: the rest is unused
  await rename(raw, join(dir, 'disk.raw'))
  const tar = join(dir, 'disk.tar')
  await o.runner.run('tar', ['--format=oldgnu', '-S', '--mtime', `@${o.epoch}`, '--owner=0', '--group=0', '--numeric-owner',
    '-C', dir, '-cf', tar, 'disk.raw'])
  await o.runner.run('gzip', ['-n', '-6', '-c', tar], { stdoutFile: out })
}

// keel's own writers, not qemu-img's: qemu-img puts the time and random IDs in.
const vhd: Converter = (raw, out, o) => writeFixedVhd(raw, out, { epoch: o.epoch })
const dynamicVhd: Converter = (raw, out, o) => writeDynamicVhd(raw, out, { epoch: o.epoch })
const vhdx: Converter = (raw, out, o) => writeVhdx(raw, out, { epoch: o.epoch })
const vmdk: Converter = (raw, out, o) => writeVmdk(raw, out, { epoch: o.epoch, fileName: basename(o.final ?? out) })

export const diskFormats: Record<string, OutputWriter> = {
  'iso-bios': single('.iso', writeIsoBios),
  'iso-efi': single('-efi.iso', writeIsoEfi),
  'iso-efi-initrd': single('-efi-initrd.iso', writeIsoEfi),
  'raw-bios': single('-bios.img', writeRawBios),
  'raw-efi': single('-efi.img', writeRawEfi),
  aws: single('.raw', writeRawBios),
  gcp: converted('.img.tar.gz', writeRawBios, gcpTarball),
  'qcow2-bios': converted('.qcow2', writeRawBios, qcow2),
  'qcow2-efi': converted('-efi.qcow2', writeRawEfi, qcow2),
  // Azure and Hyper-V generation 1 boot VHDs with a BIOS; generation 2 (VHDX) with UEFI.
  vhd: converted('.vhd', writeRawBios, vhd),
  'dynamic-vhd': converted('.vhd', writeRawBios, dynamicVhd),
  vhdx: converted('.vhdx', writeRawEfi, vhdx),
  vmdk: converted('.vmdk', writeRawBios, vmdk),
}
