// What to boot, from what the user named: a kernel+initrd prefix (LinuxKit's
// NAME-kernel, NAME-initrd.img, NAME-cmdline).
import { readFile, stat } from 'node:fs/promises'
import { UserError } from '../errors/index.js'
import type { KernelBoot } from './qemu-args.js'

export async function detectBootInput(target: string): Promise<KernelBoot> {
  const prefix = target.replace(/-(kernel|initrd\.img|cmdline)$/, '')
  const kernel = `${prefix}-kernel`
  const initrd = `${prefix}-initrd.img`
  const cmdlineFile = `${prefix}-cmdline`
  const missing: string[] = []
  for (const f of [kernel, initrd]) {
    try {
      if (!(await stat(f)).isFile()) missing.push(f)
    } catch {
      missing.push(f)
    }
  }
  if (missing.length > 0) {
    throw new UserError(`${target}: nothing to boot: ${missing.join(' and ')} not found`, { hint: `build it first, e.g. keel build -o . --name ${prefix.split('/').pop()} MANIFEST` })
  }
  let cmdline = ''
  try {
    cmdline = (await readFile(cmdlineFile, 'utf8')).trim()
  } catch {
    // no cmdline file: boot with an empty command line
  }
  return { kind: 'kernel+initrd', kernel, initrd, cmdline }
}
