// kernel+squashfs, kernel+erofs, kernel+iso: the root file system as a
// read-only image (NAME-squashfs.img, NAME-erofs.img, NAME.iso) that stays on
// its block device, so a root larger than RAM boots. Beside it: NAME-kernel,
// NAME-cmdline, and a small initrd (init and the kernel modules only) whose
// init finds the root device, mounts it under a tmpfs overlay and starts the
// system from there. The initrd names the file system type in /.keel-rootfs.
//
// mksquashfs, mkfs.erofs and xorriso read folders, not tar streams: the tar
// stream is unpacked under fakeroot, so owners, modes and device nodes are kept
// without root, and the tool runs in the same fakeroot session.
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { copyInto, writeInitrd } from './kernel-initrd.js'
import { OutputSet } from './files.js'
import type { OutputContext, OutputWriter } from './types.js'

export type RootFsType = 'squashfs' | 'erofs' | 'iso'

/** What the small initrd keeps: the init and the kernel modules. */
export function bootstrapEntry(name: string): boolean {
  return name === 'init' || name === 'lib' || name === 'lib/modules' || name.startsWith('lib/modules/')
}

/** The shell command (run under fakeroot, in `work`) that turns the folder `root` into `out`. */
function makeFs(type: RootFsType, out: string, epoch: number, name: string): string[] {
  switch (type) {
    case 'squashfs':
      // 4.5 is reproducible by default; -all-time and -mkfs-time fix the dates
      // (and it refuses them when SOURCE_DATE_EPOCH is also set)
      return ['env', '-u', 'SOURCE_DATE_EPOCH', 'mksquashfs', 'root', out, '-noappend', '-quiet', '-no-progress', '-no-xattrs',
        '-all-time', String(epoch), '-mkfs-time', String(epoch)]
    case 'erofs': {
      // the UUID is derived from the name and epoch, so it is the same every build
      const h = createHash('sha256').update(`keel-erofs\0${name}\0${epoch}`).digest('hex')
      const uuid = `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`
      return ['mkfs.erofs', '--quiet', '-x', '-1', '-zlz4hc', `-T${epoch}`, `-U${uuid}`, out, 'root']
    }
    case 'iso':
      return ['xorriso', '-report_about', 'WARNING', '-volume_date', 'all_file_dates', 'set_to_mtime',
        '-iso_nowtime', `=${epoch}`, '-volume_date', 'uuid', isoUuid(epoch),
        // no -hardlinks: it records each file's device and inode number, which differ every build
        '-disk_dev_ino', 'off', '-acl', 'off', '-xattr', 'off', '-md5', 'off',
        '-outdev', out, '-volid', 'KEEL_ROOT', '-rockridge', 'on', '-joliet', 'off',
        '-map', 'root', '/', '-alter_date_r', 'm', `=${epoch}`, '/', '--']
  }
}

function isoUuid(epoch: number): string {
  const d = new Date(epoch * 1000)
  const p = (n: number): string => String(n).padStart(2, '0')
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}00`
}

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`

/** Writes the root file system image of the tar stream (less boot/) to `out`. */
export async function writeRootImage(ctx: OutputContext, type: RootFsType, out: string): Promise<void> {
  const work = await ctx.scratch()
  const script = [
    'set -e',
    'mkdir root',
    'tar -xpf - -C root --numeric-owner --same-owner --delay-directory-restore',
    'rm -rf root/boot',
    'mkdir -p root/dev root/proc root/sys root/run root/tmp',
    makeFs(type, out, ctx.mtime, ctx.name).map(quote).join(' '),
  ].join('\n')
  await ctx.runner.run('fakeroot', ['--', 'sh', '-c', script], {
    cwd: work, stdinStream: ctx.tar(), env: { SOURCE_DATE_EPOCH: String(ctx.mtime) },
  })
}

/** The file name of the root image for `type`. */
export function rootImageName(name: string, type: RootFsType): string {
  return type === 'iso' ? `${name}.iso` : `${name}-${type}.img`
}

function kernelRootFs(type: RootFsType): OutputWriter {
  return async (ctx: OutputContext): Promise<string[]> => {
    const boot = await ctx.bootFiles()
    const out = new OutputSet()
    try {
      const image = await out.reserve(join(ctx.dir, rootImageName(ctx.name, type)))
      await writeRootImage(ctx, type, image)
      const initrd = await out.create(join(ctx.dir, `${ctx.name}-${type}-initrd.img`))
      await writeInitrd(ctx.tar(), initrd, ctx.mtime, { keep: bootstrapEntry, extra: [{ name: '.keel-rootfs', data: Buffer.from(`${type}\n`) }] })
      await copyInto(out, boot.kernel, join(ctx.dir, `${ctx.name}-kernel`))
      await out.writeFile(join(ctx.dir, `${ctx.name}-cmdline`), boot.cmdline)
      return await out.commit()
    } catch (err) {
      await out.abort()
      throw err
    }
  }
}

export const rootFsFormats: Record<string, OutputWriter> = {
  'kernel+squashfs': kernelRootFs('squashfs'),
  'kernel+erofs': kernelRootFs('erofs'),
  'kernel+iso': kernelRootFs('iso'),
}
