// Data shared by the SBOM generator and the package-database readers.

/** One installed OS package found inside an image. */
export interface SbomPackage {
  /** "deb" | "apk" */
  type: 'deb' | 'apk'
  name: string
  version: string
  architecture?: string
  /** Debian source package (from Source:, "name (version)" split), or the apk origin. */
  source?: string
  /** Debian source version, when Source: gives one ("name (version)"); otherwise the binary version applies. */
  sourceVersion?: string
  /**
   * Distribution vendor, used as the purl namespace ("debian", "ubuntu", "alpine", "wolfi").
   * Filled from the image's os-release by packagesFromDatabases; when absent the
   * SBOM uses "debian" for deb and "alpine" for apk packages.
   */
  vendor?: string
  /** purl `distro` qualifier (e.g. "debian-12", "alpine-3.20.3"); omitted when unknown. */
  distro?: string
}

/** One OCI image that went into the build. */
export interface SbomImage {
  /** Normalised reference, e.g. docker.io/keel/init:0123..., or how the manifest named it. */
  ref: string
  /** Manifest digest, sha256:... */
  digest: string
  /** Where the manifest uses it: "kernel", "init[0]", "onboot[1] dhcpcd", "services[0] getty", "volumes[0] data". */
  role: string
  packages: SbomPackage[]
}

export interface SbomInput {
  /** Build name; names the root package and the document. */
  name: string
  /** In manifest order; the SBOM keeps this order. */
  images: SbomImage[]
  /** Creation time, from SOURCE_DATE_EPOCH (the epoch by default). */
  created: Date
  /** keel's version, for creationInfo.creators ("Tool: keel-VERSION"). */
  toolVersion: string
}

/** Largest package database file accepted (bytes / UTF-16 units of text). */
export const MAX_DATABASE_BYTES = 64 * 1024 * 1024
/** Most packages accepted from one image. */
export const MAX_PACKAGES = 100_000

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

/** Total order on packages: type, name, version, architecture, then the remaining fields. */
export function comparePackages(a: SbomPackage, b: SbomPackage): number {
  return cmp(a.type, b.type) ||
    cmp(a.name, b.name) ||
    cmp(a.version, b.version) ||
    cmp(a.architecture ?? '', b.architecture ?? '') ||
    cmp(a.source ?? '', b.source ?? '') ||
    cmp(a.sourceVersion ?? '', b.sourceVersion ?? '') ||
    cmp(a.vendor ?? '', b.vendor ?? '') ||
    cmp(a.distro ?? '', b.distro ?? '')
}

/**
 * Sorts by (type, name, version, architecture) and drops repeats of the same
 * coordinates, keeping the first in that order. Returns a new array.
 */
export function sortAndDedupe(packages: readonly SbomPackage[]): SbomPackage[] {
  const sorted = [...packages].sort(comparePackages)
  const out: SbomPackage[] = []
  let prev: SbomPackage | undefined
  for (const p of sorted) {
    if (prev !== undefined && prev.type === p.type && prev.name === p.name && prev.version === p.version &&
      (prev.architecture ?? '') === (p.architecture ?? '')) continue
    out.push(p)
    prev = p
  }
  return out
}
