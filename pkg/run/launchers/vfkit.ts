// keel run vfkit: the command line for vfkit, a small front end to macOS's
// Virtualization.framework. A kernel+initrd boots with its Linux boot loader;
// UEFI ISOs and raw UEFI disks boot with its EFI loader (macOS 13 or later),
// whose variable store is kept in a state folder. The framework has no BIOS
// and reads raw disks only. The console is a virtio console (hvc0) on this
// terminal, so console=hvc0 is added to a kernel's command line.
import { createHash } from 'node:crypto'
import { UserError } from '../../errors/index.js'
import { checkResources, checkText, describeBoot, type LaunchOptions, type LaunchPlan } from './types.js'
import { bootPaths } from '../outputs.js'

export interface VfkitOptions extends LaunchOptions {
  /** The state folder: the EFI variable store. */
  stateDir: string
  /** The VM's UUID, kept in the state folder; its network MAC is derived from it. */
  uuid: string
}

/** A locally administered unicast MAC derived from a UUID, so it stays the same across runs. */
export function macFromUuid(uuid: string): string {
  const h = createHash('sha256').update(uuid.toLowerCase()).digest()
  return ['02', ...[...h.subarray(0, 5)].map((x) => x.toString(16).padStart(2, '0'))].join(':')
}

/** vfkit splits device options on commas and takes a double quote as quoting; a path may hold neither. */
function checkVfkitPath(what: string, p: string): void {
  checkText(what, p)
  if (/[,"]/.test(p)) {
    throw new UserError(`${what} ${JSON.stringify(p)} holds a comma or a double quote, which vfkit's option syntax cannot carry`, {
      hint: 'rename or move the file',
    })
  }
}

export function planVfkit(o: VfkitOptions): LaunchPlan {
  checkResources(o)
  checkVfkitPath('the state folder', o.stateDir)
  const b = o.boot
  for (const p of bootPaths(b)) checkVfkitPath('the path', p)
  const args = ['vfkit', '--cpus', String(o.cpus), '--memory', String(o.memoryMiB)]
  const devices: string[] = []
  if (b.kind === 'kernel+initrd') {
    checkText('the kernel command line', b.cmdline)
    if (b.cmdline.includes('"')) throw new UserError('vfkit cannot pass a kernel command line that holds a double quote')
    const cmdline = /(^|\s)console=hvc0(\s|$)/.test(b.cmdline) ? b.cmdline : `${b.cmdline} console=hvc0`.trim()
    // The command line goes in double quotes: it holds spaces, and may hold commas.
    args.push('--bootloader', `linux,kernel=${b.kernel},initrd=${b.initrd},cmdline="${cmdline}"`)
    if (b.root !== undefined) devices.push(`virtio-blk,path=${b.root}`)
  } else {
    if (!b.uefi) {
      throw new UserError(`Virtualization.framework has no BIOS, so it cannot boot ${describeBoot(b)}`, {
        hint: 'boot the kernel+initrd prefix, or build a UEFI image: keel build -f iso-efi or -f raw-efi',
      })
    }
    if (b.kind === 'disk' && b.format !== 'raw') {
      throw new UserError(`Virtualization.framework reads raw disks only, not ${b.format}`, {
        hint: 'build -f raw-efi, or convert: qemu-img convert -O raw IMAGE NAME-efi.img',
      })
    }
    args.push('--bootloader', `efi,variable-store=${o.stateDir}/efi-variable-store,create`)
    devices.push(b.kind === 'iso' ? `usb-mass-storage,path=${b.path},readonly` : `virtio-blk,path=${b.path}`)
  }
  devices.push(`virtio-net,nat,mac=${macFromUuid(o.uuid)}`, 'virtio-serial,stdio', 'virtio-rng')
  for (const d of devices) args.push('--device', d)
  return {
    files: {},
    commands: [args],
    notes: [
      'the console is this terminal (hvc0); the VM ends when the guest powers off',
      'Apple silicon Macs run arm64 guests only: an x86_64 image needs an Intel Mac',
      ...(b.kind === 'kernel+initrd' ? [] : ['a UEFI image prints on hvc0 only if its own command line says console=hvc0']),
    ],
  }
}
