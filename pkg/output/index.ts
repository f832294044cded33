import { diskFormats } from './disks.js'
import { rootFsFormats } from './rootfs.js'
import { writeDocker } from './docker.js'
import { writeKernelInitrd } from './kernel-initrd.js'
import { writeTarKernelInitrd } from './tar-kernel-initrd.js'
import { writeTar } from './tar.js'
import type { OutputWriter } from './types.js'
import type { ToolRequirement } from '../exec/index.js'
import { syslinuxMbr } from './boot/disk.js'
import { isolinuxDir, syslinuxBiosModules } from './boot/iso.js'
import { efiStub } from './boot/uki.js'

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

const fat: ToolRequirement[] = [
  { command: 'mkfs.fat', debianPackage: 'dosfstools' },
  { command: 'mcopy', debianPackage: 'mtools' },
  { command: 'mmd', debianPackage: 'mtools' },
]
const uki: ToolRequirement[] = [
  { command: 'objcopy', debianPackage: 'binutils' },
  { command: efiStub, debianPackage: 'systemd-boot-efi', file: true },
]
const rawBios: ToolRequirement[] = [
  ...fat,
  { command: 'syslinux', debianPackage: 'syslinux' },
  { command: syslinuxMbr, debianPackage: 'syslinux-common', file: true },
]
const rawEfi: ToolRequirement[] = [...fat, ...uki]
const xorriso: ToolRequirement = { command: 'xorriso', debianPackage: 'xorriso' }
const qemuImg: ToolRequirement = { command: 'qemu-img', debianPackage: 'qemu-utils' }
const fakeroot: ToolRequirement = { command: 'fakeroot', debianPackage: 'fakeroot' }

/** The host tools and files each format needs, checked before a build starts. */
export const formatTools: Readonly<Record<string, readonly ToolRequirement[]>> = {
  'iso-bios': [xorriso, { command: `${isolinuxDir}/isolinux.bin`, debianPackage: 'isolinux', file: true },
    { command: `${syslinuxBiosModules}/ldlinux.c32`, debianPackage: 'syslinux-common', file: true }],
  'iso-efi': [xorriso, ...rawEfi],
  'iso-efi-initrd': [xorriso, ...rawEfi],
  'raw-bios': rawBios,
  'raw-efi': rawEfi,
  aws: rawBios,
  gcp: [...rawBios, { command: 'tar', debianPackage: 'tar' }, { command: 'gzip', debianPackage: 'gzip' }],
  'qcow2-bios': [...rawBios, qemuImg],
  'qcow2-efi': [...rawEfi, qemuImg],
  vhd: rawBios,
  'dynamic-vhd': rawBios,
  vhdx: rawEfi,
  vmdk: rawBios,
  'kernel+squashfs': [fakeroot, { command: 'mksquashfs', debianPackage: 'squashfs-tools' }],
  'kernel+erofs': [fakeroot, { command: 'mkfs.erofs', debianPackage: 'erofs-utils' }],
  'kernel+iso': [fakeroot, xorriso],
}
