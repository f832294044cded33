// Platforms ("linux/arm64/v8") and choosing an image for one out of an index.
import { UserError } from '../errors/index.js'
import { mediaTypes, type Descriptor, type ImageIndex, type Platform } from '../oci/index.js'

const partPattern = /^[a-z0-9][a-z0-9_.-]{0,63}$/

/** Architecture spellings people use for the names OCI uses. */
const archAliases: Record<string, { architecture: string; variant?: string }> = {
  x86_64: { architecture: 'amd64' },
  'x86-64': { architecture: 'amd64' },
  aarch64: { architecture: 'arm64' },
  armhf: { architecture: 'arm', variant: 'v7' },
  armel: { architecture: 'arm', variant: 'v6' },
  i386: { architecture: '386' },
  i686: { architecture: '386' },
}

/**
 * Parses "os/architecture[/variant]", e.g. "linux/amd64", "linux/arm64/v8",
 * "linux/arm/v7". Common aliases (x86_64, aarch64, armhf) are normalised.
 */
export function parsePlatform(s: string): Platform {
  const fail = (why: string): never => {
    throw new UserError(`invalid platform ${JSON.stringify(s)}: ${why}`, {
      hint: 'write it as os/architecture[/variant], e.g. linux/amd64, linux/arm64 or linux/arm/v7',
    })
  }
  if (typeof s !== 'string' || s.length === 0) fail('empty')
  const parts = s.trim().toLowerCase().split('/')
  if (parts.length < 2 || parts.length > 3) fail('expected os/architecture or os/architecture/variant')
  for (const p of parts) {
    if (!partPattern.test(p)) fail(`malformed part ${JSON.stringify(p)}`)
  }
  const [os, rawArch, rawVariant] = parts as [string, string, string | undefined]
  const alias = archAliases[rawArch]
  const architecture = alias?.architecture ?? rawArch
  const variant = rawVariant ?? alias?.variant
  if (alias?.variant !== undefined && rawVariant !== undefined && rawVariant !== alias.variant) {
    fail(`${rawArch} means ${architecture}/${alias.variant}, not variant ${rawVariant}`)
  }
  return variant === undefined ? { os, architecture } : { os, architecture, variant }
}

export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`
}

/** The variant a platform means when it names none: v8 for arm64, v7 for arm. */
export function effectiveVariant(p: Pick<Platform, 'architecture' | 'variant'>): string | undefined {
  if (p.variant) return p.variant
  if (p.architecture === 'arm64') return 'v8'
  if (p.architecture === 'arm') return 'v7'
  return undefined
}

const imageManifestTypes: ReadonlySet<string> = new Set([mediaTypes.ociManifest, mediaTypes.dockerManifest])

/** Whether an index entry is an attestation (BuildKit provenance/SBOM), not an image. */
export function isAttestation(d: Descriptor): boolean {
  if (d.platform?.os === 'unknown' && d.platform.architecture === 'unknown') return true
  return d.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest'
}

/**
 * The index entry for `want`: same os and architecture, and (when `want`
 * names one) the same variant, arm64 without a variant counting as v8 and arm
 * as v7. When `want` names no variant, an entry with the architecture's
 * default variant is preferred. Entries that are not image manifests
 * (nested indexes, unknown types) and attestations are skipped.
 */
export function selectPlatform(index: ImageIndex, want: Platform): Descriptor | undefined {
  const wantVariant = effectiveVariant(want)
  let fallback: Descriptor | undefined
  for (const d of index.manifests) {
    if (!imageManifestTypes.has(d.mediaType) || isAttestation(d)) continue
    const p = d.platform
    if (p === undefined || p.os !== want.os || p.architecture !== want.architecture) continue
    const variant = effectiveVariant(p)
    if (variant === wantVariant) return d
    if (!want.variant && fallback === undefined) fallback = d
  }
  return fallback
}
