// The shape every launcher for another hypervisor returns, and what they
// share. A launcher is a pure function from options to a plan: the files to
// write (a script, a .vmx) and the commands to run on the host. The CLI does
// the I/O: it writes the files, and prints the commands or runs them.
import { basename } from 'node:path'
import { UserError } from '../../errors/index.js'
import type { BootInput } from '../qemu-args.js'

export interface LaunchPlan {
  /** Files to write, by a file name relative to the output folder, in order. */
  files: Record<string, string>
  /** Files to copy into the output folder before the commands run: from an absolute path, to a name there. */
  copies?: Array<{ from: string; to: string }>
  /** Commands to run on the host after the files are written, in order, each an argv. */
  commands: string[][]
  /** Lines for the user (how to reach the console, how to remove the VM). */
  notes: string[]
}

/** What every launcher takes; each adds its own settings. */
export interface LaunchOptions {
  /** What to boot, from detectBootInput; paths absolute. */
  boot: BootInput
  /** The VM's name (a file-name-safe word; see checkVmName). */
  name: string
  cpus: number
  memoryMiB: number
}

export const launcherNames = ['hyperv', 'hyperkit', 'xhyve', 'vfkit', 'virtualbox', 'vmware'] as const
export type LauncherName = typeof launcherNames[number]

/** The VM name LinuxKit would choose: the image's file name without its format suffix. */
export function defaultVmName(boot: BootInput): string {
  if (boot.kind === 'kernel+initrd') return basename(boot.kernel).replace(/-kernel$/, '')
  return basename(boot.path)
    .replace(/\.(iso|img|raw|qcow2|vhdx?|vmdk)$/, '')
    .replace(/-(efi|bios|efi-initrd|squashfs|erofs)$/, '')
}

/**
 * Names and paths end up in scripts, .vmx files and device options; control
 * characters (a newline above all) would split them, so refuse them anywhere.
 */
export function checkText(what: string, value: string): void {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) {
    throw new UserError(`${what} ${JSON.stringify(value)} holds a control character`, { hint: 'rename it' })
  }
}

/** A VM name is also a folder name on Windows and macOS, so it must be a valid one there. */
export function checkVmName(name: string): void {
  checkText('the VM name', name)
  if (name === '' || /[<>:"/\\|?*]/.test(name) || /[. ]$/.test(name) || name === '.' || name === '..') {
    throw new UserError(`the VM name ${JSON.stringify(name)} is not a valid folder name on Windows`, {
      hint: 'choose one with --name, without < > : " / \\ | ? * and not ending in a dot or space',
    })
  }
}

/** Hypervisor device options separate fields with commas, and have no way to escape one. */
export function checkNoComma(what: string, value: string): void {
  if (value.includes(',')) {
    throw new UserError(`${what} ${JSON.stringify(value)} holds a comma, which the hypervisor's option syntax cannot carry`, {
      hint: 'rename or move the file',
    })
  }
}

export function checkResources(o: LaunchOptions): void {
  if (!Number.isInteger(o.cpus) || o.cpus < 1) throw new UserError(`cpus must be a whole number of at least 1, not ${o.cpus}`)
  if (!Number.isInteger(o.memoryMiB) || o.memoryMiB < 64) throw new UserError(`memory must be at least 64 MiB, not ${o.memoryMiB}`)
}

/** What a boot input is, in words, for messages. */
export function describeBoot(boot: BootInput): string {
  if (boot.kind === 'kernel+initrd') return boot.root === undefined ? 'a kernel+initrd' : 'a kernel with a root image'
  return `${boot.uefi ? 'a UEFI' : 'a BIOS'} ${boot.kind === 'iso' ? 'ISO' : `${boot.format} disk`}`
}
