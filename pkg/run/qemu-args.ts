// The QEMU command line for an image, as a pure function of its settings, so
// that every flag is tested without starting QEMU.
import type { Accel } from './accel.js'

export interface KernelBoot {
  kind: 'kernel+initrd'
  kernel: string
  initrd: string
  cmdline: string
  /** A read-only root file system image (kernel+squashfs, -erofs, -iso), attached as the first disk. */
  root?: string
}

export interface IsoBoot {
  kind: 'iso'
  path: string
  uefi: boolean
}

export interface DiskBoot {
  kind: 'disk'
  path: string
  /** QEMU's name for the format: raw, qcow2, vpc, vhdx, vmdk. */
  format: string
  uefi: boolean
}

export type BootInput = KernelBoot | IsoBoot | DiskBoot

export interface Firmware {
  /** OVMF code (read-only) and a writable copy of its variables. */
  code: string
  vars: string
}

export interface QemuConfig {
  boot: BootInput
  accel: Accel
  cpus: number
  memoryMiB: number
  /** UEFI firmware; without it, SeaBIOS. */
  firmware?: Firmware
  /** Extra disks, attached as virtio after the boot disk. */
  disks?: Array<{ path: string; format: string }>
  /** Extra QEMU arguments, appended last. */
  extraArgs?: string[]
  /** Exit instead of rebooting when the guest reboots or panics. */
  noReboot?: boolean
}

export function buildQemuArgs(c: QemuConfig): string[] {
  const args = [
    '-machine', 'q35',
    '-accel', c.accel === 'kvm' ? 'kvm' : 'tcg,thread=multi',
    '-cpu', c.accel === 'kvm' ? 'host' : 'max',
    '-smp', String(c.cpus),
    '-m', String(c.memoryMiB),
    '-nodefaults',
    '-no-user-config',
    '-display', 'none',
    '-serial', 'mon:stdio',
    '-device', 'virtio-rng-pci',
    '-nic', 'user,model=virtio-net-pci',
  ]
  if (c.firmware) {
    args.push('-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${c.firmware.code}`)
    args.push('-drive', `if=pflash,format=raw,unit=1,file=${c.firmware.vars}`)
  }
  if (c.noReboot) args.push('-no-reboot')
  const b = c.boot
  if (b.kind === 'kernel+initrd') {
    args.push('-kernel', b.kernel, '-initrd', b.initrd, '-append', b.cmdline)
    if (b.root !== undefined) args.push('-drive', `file=${b.root},format=raw,if=virtio,readonly=on`)
  }
  else if (b.kind === 'iso') args.push('-drive', `file=${b.path},media=cdrom,readonly=on`, '-boot', 'd')
  else args.push('-drive', `file=${b.path},format=${b.format},if=virtio`)
  for (const d of c.disks ?? []) args.push('-drive', `file=${d.path},format=${d.format},if=virtio`)
  args.push(...(c.extraArgs ?? []))
  return args
}
