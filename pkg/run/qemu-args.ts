// The QEMU command line for an image, as a pure function of its settings, so
// that every flag is tested without starting QEMU.
import type { Accel } from './accel.js'

export interface KernelBoot {
  kind: 'kernel+initrd'
  kernel: string
  initrd: string
  cmdline: string
}

export interface QemuConfig {
  boot: KernelBoot
  accel: Accel
  cpus: number
  memoryMiB: number
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
  if (c.noReboot) args.push('-no-reboot')
  args.push('-kernel', c.boot.kernel, '-initrd', c.boot.initrd, '-append', c.boot.cmdline)
  args.push(...(c.extraArgs ?? []))
  return args
}
