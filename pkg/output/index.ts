import { writeKernelInitrd } from './kernel-initrd.js'
import type { OutputWriter } from './types.js'

export * from './types.js'
export * from './cpio.js'
export * from './files.js'
export { writeKernelInitrd }

/** Every output format keel writes, by the name `keel build -f` takes. */
export const outputFormats: Readonly<Record<string, OutputWriter>> = {
  'kernel+initrd': writeKernelInitrd,
}
