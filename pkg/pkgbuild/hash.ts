// The tag of a package image is a hash of its folder's content, so an
// unchanged folder is never rebuilt and the same folder gives the same tag
// on every machine (only the executable bit of a mode counts, as in git).
import { createHash, type Hash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { readFile, readlink } from 'node:fs/promises'
import { walkSorted } from '../tar/index.js'

/** Bumped when the way packages are built changes, so old images are not reused. */
export const packageFormatVersion = 'keel-pkg-2'

const ignoredNames = new Set(['.git', 'node_modules'])

/** A folder from outside the package (build.yml's extra-sources), seen at `dest` in the build context. */
export interface ExtraSource {
  /** Absolute path of the folder. */
  source: string
  /** Relative path in the build context. */
  dest: string
}

/** The sha256 of a file: small files in one read, large ones streamed. */
async function hashFile(path: string, size: number): Promise<string> {
  const h = createHash('sha256')
  if (size <= 1024 * 1024) h.update(await readFile(path))
  else for await (const chunk of createReadStream(path)) h.update(chunk as Buffer)
  return h.digest('hex')
}

async function hashTree(outer: Hash, dir: string, prefix: string): Promise<void> {
  const entries = (await walkSorted(dir)).filter((e) => !e.path.split('/').some((part) => ignoredNames.has(part)))
  // Files are read and hashed several at a time (a package folder is many
  // small files: one at a time, the opens and reads were most of the time
  // keel build spent resolving packages), and folded in in path order.
  const digests = new Map<string, Promise<string>>()
  const files = entries.filter((e) => e.kind !== 'directory' && e.kind !== 'symlink')
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < files.length) {
      const e = files[next++]!
      const d = hashFile(e.abs, e.size)
      digests.set(e.abs, d)
      await d
    }
  }
  await Promise.all(Array.from({ length: Math.min(16, files.length) }, worker))
  for (const e of entries) {
    const path = `${prefix}${e.path}`
    if (e.kind === 'directory') {
      outer.update(`d ${path}\0`)
    } else if (e.kind === 'symlink') {
      outer.update(`l ${path}\0${await readlink(e.abs)}\0`)
    } else {
      outer.update(`f ${path}\0${e.mode & 0o111 ? 'x' : '-'}\0${await digests.get(e.abs)!}\0`)
    }
  }
}

/**
 * The tag: the folder's content and that of each extra source, under its
 * destination, and the build args given on the command line (build.yml's
 * own are in the folder already). Only args that change build.yml's value
 * count, in name order, so naming an arg with its build.yml value changes
 * nothing.
 */
export async function hashPackageDir(dir: string, extras: readonly ExtraSource[] = [], argOverrides: ReadonlyMap<string, string> = new Map()): Promise<string> {
  const outer = createHash('sha256')
  outer.update(`${packageFormatVersion}\0`)
  await hashTree(outer, dir, '')
  for (const x of extras) {
    outer.update(`x ${x.dest}\0`)
    await hashTree(outer, x.source, `${x.dest}/`)
  }
  for (const name of [...argOverrides.keys()].sort()) {
    outer.update(`a ${name}\0${argOverrides.get(name)!}\0`)
  }
  return outer.digest('hex').slice(0, 20)
}
