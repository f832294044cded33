// Finding and reading the package databases of an image's filesystem.
import { UserError } from '../errors/index.js'
import { parseApkInstalled } from './apk.js'
import { parseDpkgStatus } from './dpkg.js'
import { MAX_DATABASE_BYTES, MAX_PACKAGES, sortAndDedupe, type SbomPackage } from './types.js'

const DPKG_STATUS = 'var/lib/dpkg/status'
const DPKG_STATUS_D = 'var/lib/dpkg/status.d/'
const APK_INSTALLED = ['lib/apk/db/installed', 'usr/lib/apk/db/installed']
const OS_RELEASE = ['etc/os-release', 'usr/lib/os-release']

/**
 * Paths (relative, no leading slash) of the files to collect from an image's
 * final filesystem (after applying its layers and whiteouts) and to pass to
 * packagesFromDatabases. The os-release files are not package databases, but
 * tell the distribution (purl namespace and distro qualifier).
 */
export const packageDatabasePaths: { exact: string[]; prefixes: string[] } = {
  exact: [DPKG_STATUS, ...APK_INSTALLED, ...OS_RELEASE],
  prefixes: [DPKG_STATUS_D],
}

/** True when `path` (relative, no leading slash) is one packageDatabasePaths selects. */
export function isPackageDatabasePath(path: string): boolean {
  const p = normalizePath(path)
  return packageDatabasePaths.exact.includes(p) || packageDatabasePaths.prefixes.some((pre) => p.startsWith(pre))
}

/**
 * Reads every package database among `files` (keyed by path relative to the
 * image root; a leading "/" or "./" is tolerated), dispatching by path, and
 * returns the packages sorted by (type, name, version, architecture) without
 * repeats. Other paths are ignored. Throws UserError naming the file when a
 * database is larger than 64 MiB or lists more than 100,000 packages.
 */
export function packagesFromDatabases(files: Map<string, Buffer>): SbomPackage[] {
  const byPath = new Map<string, Buffer>()
  for (const [path, data] of files) byPath.set(normalizePath(path), data)

  const text = (path: string): string => {
    const data = byPath.get(path)
    if (data === undefined) return ''
    if (data.length > MAX_DATABASE_BYTES) {
      throw new UserError(`${path}: package database larger than ${MAX_DATABASE_BYTES / (1024 * 1024)} MiB`)
    }
    return data.toString('utf8')
  }

  const found: SbomPackage[] = []
  const add = (path: string, packages: SbomPackage[]): void => {
    if (found.length + packages.length > MAX_PACKAGES) {
      throw new UserError(`${path}: more than ${MAX_PACKAGES} packages in the image's package databases`)
    }
    for (const p of packages) found.push(p)
  }

  // Sorted so that the result does not depend on the map's order.
  for (const path of [...byPath.keys()].sort()) {
    if (path === DPKG_STATUS) {
      add(path, parseDpkgStatus(text(path), { file: path }))
    } else if (isStatusDFile(path)) {
      add(path, parseDpkgStatus(text(path), { file: path }))
    } else if (APK_INSTALLED.includes(path)) {
      add(path, parseApkInstalled(text(path), { file: path }))
    }
  }
  if (found.length === 0) return []

  const osPath = OS_RELEASE.find((p) => byPath.has(p))
  const os = osPath === undefined ? undefined : distroFromOsRelease(parseOsRelease(text(osPath)))
  if (os !== undefined) {
    for (const p of found) {
      if (p.type !== os.type) continue
      p.vendor = os.vendor
      if (os.distro !== undefined) p.distro = os.distro
    }
  }
  return sortAndDedupe(found)
}

/** A package file directly inside status.d; the .md5sums lists beside them and hidden files are not. */
function isStatusDFile(path: string): boolean {
  if (!path.startsWith(DPKG_STATUS_D)) return false
  const base = path.slice(DPKG_STATUS_D.length)
  return base !== '' && !base.includes('/') && !base.startsWith('.') && !base.endsWith('.md5sums')
}

function normalizePath(path: string): string {
  let p = path
  while (p.startsWith('./')) p = p.slice(2)
  while (p.startsWith('/')) p = p.slice(1)
  return p
}

/** Parses os-release(5): KEY=value lines, values optionally quoted. */
export function parseOsRelease(text: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const eq = line.indexOf('=')
    if (eq <= 0) continue
    const key = line.slice(0, eq).trim()
    let value = line.slice(eq + 1).trim()
    const q = value[0]
    if ((q === '"' || q === "'") && value.length >= 2 && value.endsWith(q)) {
      value = value.slice(1, -1)
      if (q === '"') value = value.replace(/\\(["\\`$])/g, '$1')
    }
    out.set(key, value)
  }
  return out
}

/**
 * Which package type an os-release describes, its purl vendor and distro
 * qualifier: Debian-like systems own the deb packages, all others the apk ones.
 * The distro is "ID-VERSION_ID" (as syft and grype write it), or the codename
 * when there is no VERSION_ID (Debian testing and unstable).
 */
export function distroFromOsRelease(
  os: Map<string, string>,
): { type: 'deb' | 'apk'; vendor: string; distro: string | undefined } | undefined {
  const id = (os.get('ID') ?? '').toLowerCase()
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(id)) return undefined
  const like = (os.get('ID_LIKE') ?? '').toLowerCase().split(/\s+/)
  const debianLike = id === 'debian' || id === 'ubuntu' || like.includes('debian') || like.includes('ubuntu')
  const versionId = os.get('VERSION_ID') ?? ''
  const codename = (os.get('VERSION_CODENAME') ?? '').toLowerCase()
  let distro: string | undefined
  if (/^[A-Za-z0-9._~-]+$/.test(versionId)) distro = `${id}-${versionId}`
  else if (/^[a-z0-9._~-]+$/.test(codename)) distro = codename
  return { type: debianLike ? 'deb' : 'apk', vendor: id, distro }
}
