// An extra disk for a machine (keel run's --disk, keel test's run-args):
// used as it is when the file exists, else made empty at its size: a sparse
// raw file, or a qcow2 image through qemu-img.
import { open, stat } from 'node:fs/promises'
import { UserError } from '../errors/index.js'
import { createRealRunner, requireTools } from '../exec/index.js'

export async function ensureDiskFile(path: string, format: string, sizeBytes: number): Promise<void> {
  const existing = await stat(path).catch(() => undefined)
  if (existing?.isDirectory()) throw new UserError(`--disk ${path}: is a folder, not a disk image`)
  if (existing) return
  if (format === 'raw') {
    const fh = await open(path, 'wx').catch((err: Error) => { throw new UserError(`--disk ${path}: cannot create it: ${err.message}`, { cause: err }) })
    try {
      await fh.truncate(sizeBytes)
    } finally {
      await fh.close()
    }
  } else {
    requireTools([{ command: 'qemu-img', debianPackage: 'qemu-utils' }])
    await createRealRunner().run('qemu-img', ['create', '-q', '-f', format, path, String(sizeBytes)])
  }
}
