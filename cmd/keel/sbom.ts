// The SBOM beside every build: which images went in, by digest, and the
// Debian/Alpine packages inside each — from their package databases, and for
// keel's own package images from the label pkgbuild writes.
import { join } from 'node:path'
import type { UsedImage } from '../../pkg/assemble/index.js'
import { OutputSet } from '../../pkg/output/index.js'
import { debianPackagesLabel } from '../../pkg/pkgbuild/index.js'
import { generateSbom, isPackageDatabasePath, packagesFromDatabases, sortAndDedupe, type SbomImage, type SbomPackage } from '../../pkg/sbom/index.js'

/** Which files assembly keeps the bytes of: package databases, up to 64 MiB each. */
export function capturePackageDatabases(path: string, size: number): boolean {
  return size <= 64 * 1024 * 1024 && isPackageDatabasePath(path)
}

export async function writeSbom(dir: string, name: string, used: readonly UsedImage[], epoch: number, keelVersion: string): Promise<string> {
  const images: SbomImage[] = used.map((u) => {
    const packages: SbomPackage[] = packagesFromDatabases(u.captured)
    const label = u.source.config.config?.Labels?.[debianPackagesLabel]
    if (label) {
      try {
        const listed = JSON.parse(label) as Array<{ name: string; version: string; architecture?: string; source?: string; sourceVersion?: string }>
        for (const p of listed) packages.push({ type: 'deb', ...p })
      } catch {
        // an unreadable label only costs the SBOM these entries
      }
    }
    return { ref: u.source.ref, digest: u.source.digest, role: u.role, packages: sortAndDedupe(packages) }
  })
  const text = generateSbom({ name, images, created: new Date(epoch * 1000), toolVersion: keelVersion })
  const out = new OutputSet()
  const path = join(dir, `${name}-sbom.spdx.json`)
  try {
    await out.writeFile(path, text)
    await out.commit()
  } catch (err) {
    await out.abort()
    throw err
  }
  return path
}
