import { writeDocker } from './docker.js'
import { writeKernelInitrd } from './kernel-initrd.js'
import { writeTarKernelInitrd } from './tar-kernel-initrd.js'
import { writeTar } from './tar.js'
import type { OutputWriter } from './types.js'

export * from './types.js'
export * from './cpio.js'
export * from './files.js'
export { writeKernelInitrd, writeInitrd } from './kernel-initrd.js'
export { writeTar, writeTarKernelInitrd, writeDocker }

/** Every output format keel writes, by the name `keel build -f` takes. */
export const outputFormats: Readonly<Record<string, OutputWriter>> = {
  'kernel+initrd': writeKernelInitrd,
  'tar-kernel-initrd': writeTarKernelInitrd,
  tar: writeTar,
  docker: writeDocker,
}
