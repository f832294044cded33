// Cases that boot other output formats than kernel+initrd. A case's
// `formats` file names output formats (as `keel build -f` takes them); the
// case then runs once for each, built in that format alone and booted from
// what the build wrote: an ISO or a disk image as it is, a kernel with its
// root on a read-only image, and the two archives unpacked first, as their
// users would (tar-kernel-initrd's kernel, initrd and cmdline; gcp's
// disk.raw). UEFI formats boot with OVMF (pkg/run decides by the name).
import { mkdir, rename } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { createRealRunner } from '../exec/index.js'
import { outputFormats } from '../output/index.js'
import { cheapestBoot, detectBootInput, findBootInputs, type BootInput } from '../run/index.js'

/** Formats that are not machine images: nothing to boot. */
const notBootable: Record<string, string> = {
  tar: 'the root file system as a tar',
  docker: 'an image for docker load',
}

/** Problems with the words of a formats file, "FILE: ..." each. */
export function checkFormats(formats: readonly string[], file: string): string[] {
  const problems: string[] = []
  if (formats.length === 0) problems.push(`${file}: names no format`)
  for (const f of formats) {
    if (!(f in outputFormats)) problems.push(`${file}: ${JSON.stringify(f)} is not an output format; these are: ${Object.keys(outputFormats).join(', ')}`)
    else if (notBootable[f] !== undefined) problems.push(`${file}: ${f} is ${notBootable[f]}, not something to boot`)
  }
  const seen = new Set<string>()
  for (const f of formats) {
    if (seen.has(f)) problems.push(`${file}: ${f} is named twice`)
    seen.add(f)
  }
  return problems
}

/**
 * What to boot from the files a build of one format wrote, named PREFIX...
 * (as pkg/run's findBootInputs finds it, the cheapest when a set of files
 * could be read two ways); archives are unpacked into PREFIX's folder's
 * unpacked/ first. Returns the boot input and every file made here (to
 * remove after a passing case).
 */
export async function bootInputFor(format: string, written: readonly string[], prefix: string): Promise<{ boot: BootInput; made: string[] }> {
  const files = written.filter((f) => !f.endsWith('.spdx.json'))
  const unpacked = join(dirname(prefix), 'unpacked')
  const tar = async (archive: string, flags: string): Promise<void> => {
    await mkdir(unpacked, { recursive: true })
    await createRealRunner().run('tar', [flags, archive, '-C', unpacked])
  }
  if (format === 'tar-kernel-initrd') {
    const archive = files.find((f) => f.endsWith('-initrd.tar'))
    if (!archive) throw new Error(`the build wrote no NAME-initrd.tar (wrote: ${files.map((f) => basename(f)).join(', ')})`)
    await tar(archive, '-xf')
    const name = basename(prefix)
    for (const f of ['kernel', 'initrd.img', 'cmdline']) await rename(join(unpacked, f), join(unpacked, `${name}-${f}`))
    return { boot: await detectBootInput(join(unpacked, name)), made: [unpacked] }
  }
  if (format === 'gcp') {
    const archive = files.find((f) => f.endsWith('.img.tar.gz'))
    if (!archive) throw new Error(`the build wrote no NAME.img.tar.gz (wrote: ${files.map((f) => basename(f)).join(', ')})`)
    await tar(archive, '-xzf')
    return { boot: await detectBootInput(join(unpacked, 'disk.raw')), made: [unpacked] }
  }
  const { candidates, unbootable } = await findBootInputs(dirname(prefix), basename(prefix), written)
  const boot = cheapestBoot(candidates)
  if (boot) return { boot, made: [] }
  const reasons = unbootable.map((u) => `${basename(u.file)}: ${u.reason}`)
  throw new Error(`nothing to boot among what the build wrote (${reasons.join('; ') || 'no files'})`)
}
