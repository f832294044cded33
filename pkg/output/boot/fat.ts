// FAT file system images without root or loop devices: mkfs.fat writes the
// empty file system (--invariant: no random serial, no time), mtools copies
// files in (SOURCE_DATE_EPOCH stamps what mtools creates; -m keeps the
// files' own times, which are set to the epoch first).
import { utimes } from 'node:fs/promises'
import type { ToolRunner } from '../../exec/index.js'

export interface FatFile {
  /** Where it goes in the file system, e.g. "EFI/BOOT/BOOTX64.EFI". */
  path: string
  /** The file on the host. */
  source: string
}

export async function buildFatImage(image: string, files: readonly FatFile[], opts: { sizeBytes: number; label: string; epoch: number; runner: ToolRunner; offsetBytes?: number }): Promise<void> {
  const env = { SOURCE_DATE_EPOCH: String(opts.epoch), MTOOLS_SKIP_CHECK: '1', TZ: 'UTC' }
  const kib = Math.ceil(opts.sizeBytes / 1024)
  // A serial number derived from nothing variable: the label.
  let serial = 0x4b45454c
  for (const c of opts.label) serial = (Math.imul(serial, 31) + c.charCodeAt(0)) >>> 0
  await opts.runner.run('mkfs.fat', ['--invariant', '-C', '-n', opts.label, '-i', serial.toString(16).padStart(8, '0'), image, String(kib)], { env })
  const dirs = new Set<string>()
  for (const f of files) {
    const parts = f.path.split('/').slice(0, -1)
    for (let i = 1; i <= parts.length; i++) dirs.add(parts.slice(0, i).join('/'))
  }
  const sortedDirs = [...dirs].sort()
  if (sortedDirs.length > 0) await opts.runner.run('mmd', ['-i', image, ...sortedDirs.map((d) => `::/${d}`)], { env })
  const when = new Date(opts.epoch * 1000)
  for (const f of [...files].sort((a, b) => a.path.localeCompare(b.path))) {
    await utimes(f.source, when, when)
    await opts.runner.run('mcopy', ['-m', '-o', '-i', image, f.source, `::/${f.path}`], { env })
  }
}
