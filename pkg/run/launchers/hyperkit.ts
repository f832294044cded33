// keel run hyperkit | xhyve: the command line for macOS's bhyve ports on
// Intel Macs. A kernel+initrd boots with kexec; hyperkit also boots UEFI ISOs
// and raw UEFI disks from a bootrom (firmware file) the user names. Neither
// has a BIOS, so BIOS images are refused with a hint. The console is COM1 on
// this terminal; -U gives the VM a UUID kept in a state folder, from which
// vmnet derives the network adapter's MAC, so the guest keeps its address.
import { UserError } from '../../errors/index.js'
import { checkNoComma, checkResources, checkText, describeBoot, type LaunchOptions, type LaunchPlan } from './types.js'
import { bootPaths } from '../outputs.js'

export interface HyperkitOptions extends LaunchOptions {
  binary: 'hyperkit' | 'xhyve'
  /** The VM's UUID (SMBIOS, and the seed of its MAC address). */
  uuid: string
  /** The state folder: hyperkit's pid file. */
  stateDir: string
  /** A UEFI firmware for hyperkit's bootrom: needed for ISOs and disks. */
  firmware?: string
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export function planHyperkit(o: HyperkitOptions): LaunchPlan {
  checkResources(o)
  if (!uuidPattern.test(o.uuid)) throw new UserError(`${JSON.stringify(o.uuid)} is not a UUID`)
  checkText('the state folder', o.stateDir)
  const b = o.boot
  const hyperkit = o.binary === 'hyperkit'
  for (const p of bootPaths(b)) {
    checkText('the path', p)
    // -f kexec,KERNEL,INITRD,CMDLINE and -s SLOT,DEVICE,PATH split on commas;
    // only the command line, which comes last, may hold them.
    checkNoComma('the path', p)
  }
  const args = [
    o.binary,
    '-A', // ACPI tables, so the guest can power itself off
    '-u', // the RTC keeps UTC
    ...(hyperkit ? ['-F', `${o.stateDir}/hyperkit.pid`] : []),
    '-c', String(o.cpus),
    '-m', `${o.memoryMiB}M`,
    '-s', '0:0,hostbridge',
    '-s', '31,lpc',
    '-l', 'com1,stdio',
    '-s', '1:0,virtio-net',
    '-U', o.uuid.toLowerCase(),
    ...(hyperkit ? ['-s', '2:0,virtio-rnd'] : []),
  ]
  if (b.kind === 'kernel+initrd') {
    if (b.root !== undefined) args.push('-s', `3:0,virtio-blk,${b.root}`)
    args.push('-f', `kexec,${b.kernel},${b.initrd},${b.cmdline}`)
  } else {
    if (!hyperkit) {
      throw new UserError(`xhyve boots a kernel+initrd only, not ${describeBoot(b)}`, {
        hint: 'give the kernel+initrd prefix (keel build -f kernel+initrd), or use keel run hyperkit --firmware UEFI.fd',
      })
    }
    if (!b.uefi) {
      throw new UserError(`hyperkit has no BIOS, so it cannot boot ${describeBoot(b)}`, {
        hint: 'boot the kernel+initrd prefix, or build a UEFI image: keel build -f iso-efi or -f raw-efi',
      })
    }
    if (b.kind === 'disk' && b.format !== 'raw') {
      throw new UserError(`hyperkit's virtio-blk reads raw disks, not ${b.format}`, {
        hint: 'build -f raw-efi, or convert: qemu-img convert -O raw IMAGE NAME-efi.img',
      })
    }
    if (o.firmware === undefined) {
      throw new UserError(`hyperkit needs a UEFI firmware file to boot ${describeBoot(b)}`, {
        hint: 'pass --firmware PATH to an edk2 build for bhyve/hyperkit (UEFI.fd)',
      })
    }
    checkText('the firmware path', o.firmware)
    checkNoComma('the firmware path', o.firmware)
    args.push('-s', b.kind === 'iso' ? `4:0,ahci-cd,${b.path}` : `3:0,virtio-blk,${b.path}`)
    args.push('-f', `bootrom,${o.firmware}`)
  }
  return {
    files: {},
    commands: [args],
    notes: [
      `${o.binary} runs on Intel Macs only, and its virtio-net (vmnet.framework) needs root: run the command with sudo`,
      'the console is this terminal (COM1); the VM ends when the guest powers off',
    ],
  }
}
