// Reading apk's database of installed packages, lib/apk/db/installed: one
// paragraph per package, paragraphs separated by blank lines, each line a
// one-letter key, a colon and the value (P: name, V: version, A: architecture,
// o: origin, i.e. the source package; F:/R:/Z: list the files and are skipped).
import { UserError } from '../errors/index.js'
import { MAX_DATABASE_BYTES, MAX_PACKAGES, type SbomPackage } from './types.js'

export interface ApkInstalledOptions {
  /** Names the file in errors; "lib/apk/db/installed" by default. */
  file?: string
}

/** Parses an apk installed database into packages, in file order. */
export function parseApkInstalled(text: string, opts: ApkInstalledOptions = {}): SbomPackage[] {
  const file = opts.file ?? 'lib/apk/db/installed'
  if (text.length > MAX_DATABASE_BYTES) {
    throw new UserError(`${file}: package database larger than ${MAX_DATABASE_BYTES / (1024 * 1024)} MiB`)
  }
  const out: SbomPackage[] = []
  let name: string | undefined
  let version: string | undefined
  let arch: string | undefined
  let origin: string | undefined

  const flush = (): void => {
    if (name !== undefined && version !== undefined) {
      if (out.length >= MAX_PACKAGES) throw new UserError(`${file}: more than ${MAX_PACKAGES} packages`)
      const pkg: SbomPackage = { type: 'apk', name, version }
      if (arch !== undefined) pkg.architecture = arch
      if (origin !== undefined) pkg.source = origin
      out.push(pkg)
    }
    name = version = arch = origin = undefined
  }

  let pos = 0
  const len = text.length
  while (pos < len) {
    let end = text.indexOf('\n', pos)
    if (end < 0) end = len
    let line = text.slice(pos, end)
    pos = end + 1
    if (line.endsWith('\r')) line = line.slice(0, -1)
    if (line.trim() === '') {
      flush()
      continue
    }
    if (line.length < 2 || line[1] !== ':') continue
    const value = line.slice(2).trim()
    if (value === '') continue
    switch (line[0]) {
      case 'P': name = value; break
      case 'V': version = value; break
      case 'A': arch = value; break
      case 'o': origin = value; break
      default: break
    }
  }
  flush()
  return out
}
