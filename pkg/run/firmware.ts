// UEFI firmware for QEMU: Debian's OVMF (package ovmf), whose variable store
// the firmware writes, so every machine gets its own copy of the template.
import { copyFile, stat } from 'node:fs/promises'
import type { Firmware } from './qemu-args.js'

/** OVMF's code and variable-store template, as Debian's ovmf package installs them. */
export const debianOvmf: Readonly<Firmware> = { code: '/usr/share/OVMF/OVMF_CODE_4M.fd', vars: '/usr/share/OVMF/OVMF_VARS_4M.fd' }

/**
 * OVMF with its variable store at `vars`, copied from the template: afresh,
 * or (keep) only when `vars` is not there yet, so a machine keeps its
 * variables from boot to boot.
 */
export async function ovmfWithVars(vars: string, o: { keep?: boolean; ovmf?: Readonly<Firmware> } = {}): Promise<Firmware> {
  const ovmf = o.ovmf ?? debianOvmf
  if (!o.keep || !(await stat(vars).catch(() => undefined))) await copyFile(ovmf.vars, vars)
  return { code: ovmf.code, vars }
}
