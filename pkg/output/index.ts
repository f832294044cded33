import { diskFormats } from './disks.js'
import { rootFsFormats } from './rootfs.js'
import { writeDocker } from './docker.js'
import { writeKernelInitrd } from './kernel-initrd.js'
import { writeTarKernelInitrd } from './tar-kernel-initrd.js'
import { writeTar } from './tar.js'
import type { OutputWriter } from './types.js'

export * from './types.js'
export * from './cpio.js'
export * from './files.js'
export { writeKernelInitrd, writeInitrd, bootFilesFrom } from './kernel-initrd.js'
export { writeTar, writeTarKernelInitrd, writeDocker }

/** Every output format keel writes, by the name `keel build -f` takes. */
export const outputFormats: Readonly<Record<string, OutputWriter>> = {
  'kernel+initrd': writeKernelInitrd,
  'tar-kernel-initrd': writeTarKernelInitrd,
  tar: writeTar,
  docker: writeDocker,
  ...diskFormats,
  ...rootFsFormats,
}

/** Formats whose files have the same name (as in LinuxKit): only one of each group per build. */
export const conflictingFormats: ReadonlyArray<readonly string[]> = [['vhd', 'dynamic-vhd'], ['iso-bios', 'kernel+iso']]
