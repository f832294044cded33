// The QEMU command line for an image, as a pure function of its settings, so
// that every flag is tested without starting QEMU.
import type { Accel } from './accel.js'
import { formatHostForward, type Networking, type PublishedPort } from './options.js'

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
  /** The network card's back end (default user); `publish` is for user networking only. */
  networking?: Networking
  publish?: readonly PublishedPort[]
  /** The network card's MAC address; QEMU's default when undefined. */
  mac?: string
  /** Read-only CD-ROMs attached after the boot media (the metadata ISO). */
  cdroms?: readonly string[]
  /**
   * Where the serial console goes: 'stdio' (QEMU's stdin and stdout, shared
   * with its monitor; Ctrl-C is a byte for the guest, not a signal to QEMU),
   * or a Unix socket that also logs everything to a file (for --detach).
   */
  console?: 'stdio' | { socket: string; log: string }
  /** A QMP server on this Unix socket. */
  qmpSocket?: string
  /** QEMU writes its pid here. */
  pidFile?: string
  /** QEMU forks into the background once the machine is set up. */
  daemonize?: boolean
  /** fw_cfg items for the guest (read under /sys/firmware/qemu_fw_cfg). */
  fwCfg?: ReadonlyArray<{ name: string; file: string }>
}

/** QEMU's option syntax: a comma inside a value is written twice. */
export function escapeOption(value: string): string {
  return value.replaceAll(',', ',,')
}

function networkArgs(c: QemuConfig): string[] {
  const n = c.networking ?? { mode: 'user' }
  let netdev: string
  if (n.mode === 'none') return ['-nic', 'none']
  else if (n.mode === 'user') netdev = ['user,id=net0', ...(c.publish ?? []).map(formatHostForward)].join(',')
  else if (n.mode === 'tap') netdev = `tap,id=net0${n.ifname === undefined ? '' : `,ifname=${n.ifname}`},script=no,downscript=no`
  else netdev = `bridge,id=net0${n.bridge === undefined ? '' : `,br=${n.bridge}`}`
  return ['-netdev', netdev, '-device', `virtio-net-pci,netdev=net0${c.mac === undefined ? '' : `,mac=${c.mac}`}`]
}

function consoleArgs(c: QemuConfig): string[] {
  const con = c.console ?? 'stdio'
  // As -serial mon:stdio, QEMU's monitor shares the console (Ctrl-A c), but
  // Ctrl-C is a byte for the guest even when QEMU's stdin is a terminal.
  if (con === 'stdio') return ['-chardev', 'stdio,id=console,mux=on,signal=off', '-serial', 'chardev:console', '-mon', 'chardev=console,mode=readline']
  return [
    '-chardev', `socket,id=console,path=${escapeOption(con.socket)},server=on,wait=off,logfile=${escapeOption(con.log)},logappend=on`,
    '-serial', 'chardev:console',
  ]
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
    ...consoleArgs(c),
    '-device', 'virtio-rng-pci',
    ...networkArgs(c),
  ]
  if (c.qmpSocket !== undefined) args.push('-qmp', `unix:${escapeOption(c.qmpSocket)},server=on,wait=off`)
  if (c.pidFile !== undefined) args.push('-pidfile', c.pidFile)
  if (c.daemonize) args.push('-daemonize')
  if (c.firmware) {
    args.push('-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${escapeOption(c.firmware.code)}`)
    args.push('-drive', `if=pflash,format=raw,unit=1,file=${escapeOption(c.firmware.vars)}`)
  }
  if (c.noReboot) args.push('-no-reboot')
  const b = c.boot
  if (b.kind === 'kernel+initrd') {
    args.push('-kernel', b.kernel, '-initrd', b.initrd, '-append', b.cmdline)
    if (b.root !== undefined) args.push('-drive', `file=${escapeOption(b.root)},format=raw,if=virtio,readonly=on`)
  }
  else if (b.kind === 'iso') args.push('-drive', `file=${escapeOption(b.path)},format=raw,media=cdrom,readonly=on`, '-boot', 'd')
  else args.push('-drive', `file=${escapeOption(b.path)},format=${b.format},if=virtio`)
  for (const d of c.disks ?? []) args.push('-drive', `file=${escapeOption(d.path)},format=${d.format},if=virtio`)
  // CDs for the guest to read (not to boot) sit on their own virtio-scsi
  // controller: keel's kernel has virtio_scsi and sr_mod, not the AHCI driver
  // q35's own CD-ROMs need; and they never get in the way of the boot media.
  if ((c.cdroms ?? []).length > 0) args.push('-device', 'virtio-scsi-pci,id=cdscsi')
  for (const [i, cd] of (c.cdroms ?? []).entries()) {
    args.push('-drive', `if=none,id=cd${i},file=${escapeOption(cd)},format=raw,media=cdrom,readonly=on`, '-device', `scsi-cd,bus=cdscsi.0,drive=cd${i}`)
  }
  for (const f of c.fwCfg ?? []) args.push('-fw_cfg', `name=${escapeOption(f.name)},file=${escapeOption(f.file)}`)
  args.push(...(c.extraArgs ?? []))
  return args
}
