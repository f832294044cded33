// Package URLs (https://github.com/package-url/purl-spec) in canonical form:
// components percent-encoded except A-Z a-z 0-9 . - _ ~ and ':', qualifiers
// sorted by key, empty qualifier values dropped.
import { parseReference } from '../oci/index.js'
import type { SbomPackage } from './types.js'

export interface Purl {
  type: string
  namespace?: string
  name: string
  version?: string
  qualifiers?: Record<string, string | undefined>
}

const keep = /[A-Za-z0-9._~:-]/

/** Percent-encodes one purl component (UTF-8, uppercase hex). */
export function purlEncode(s: string): string {
  let out = ''
  for (const ch of s) {
    if (keep.test(ch)) {
      out += ch
      continue
    }
    for (const b of Buffer.from(ch, 'utf8')) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return out
}

export function formatPurl(p: Purl): string {
  let s = `pkg:${p.type.toLowerCase()}/`
  if (p.namespace !== undefined && p.namespace !== '') {
    s += p.namespace.split('/').filter((seg) => seg !== '').map(purlEncode).join('/') + '/'
  }
  s += purlEncode(p.name)
  if (p.version !== undefined && p.version !== '') s += `@${purlEncode(p.version)}`
  const quals = Object.entries(p.qualifiers ?? {})
    .filter((e): e is [string, string] => e[1] !== undefined && e[1] !== '')
    .map(([k, v]): [string, string] => [k.toLowerCase(), v])
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
  if (quals.length > 0) s += '?' + quals.map(([k, v]) => `${k}=${purlEncode(v)}`).join('&')
  return s
}

const defaultVendor = { deb: 'debian', apk: 'alpine' } as const

/** The purl of an installed OS package: pkg:deb/debian/NAME@VERSION?arch=ARCH[&distro=...]. */
export function packagePurl(p: SbomPackage): string {
  return formatPurl({
    type: p.type,
    namespace: (p.vendor ?? defaultVendor[p.type]).toLowerCase(),
    name: p.name.toLowerCase(),
    version: p.version,
    qualifiers: { arch: p.architecture, distro: p.distro },
  })
}

/**
 * The purl of the Debian source package a binary package was built from
 * (pkg:deb/debian/SRC@SRCVERSION?arch=source), when it differs from the binary
 * package's own name and version; undefined otherwise and for apk packages
 * (whose origin has no version of its own and no purl convention).
 */
export function sourcePurl(p: SbomPackage): string | undefined {
  if (p.type !== 'deb' || !hasDistinctSource(p)) return undefined
  return formatPurl({
    type: 'deb',
    namespace: (p.vendor ?? defaultVendor.deb).toLowerCase(),
    name: (p.source ?? p.name).toLowerCase(),
    version: p.sourceVersion ?? p.version,
    qualifiers: { arch: 'source', distro: p.distro },
  })
}

/** True when the package names a source (or origin) other than itself. */
export function hasDistinctSource(p: SbomPackage): boolean {
  const name = p.source ?? p.name
  const version = p.sourceVersion ?? p.version
  return name !== p.name || version !== p.version
}

/**
 * The purl of an OCI image: pkg:oci/NAME@DIGEST?repository_url=REGISTRY/REPO[&tag=TAG],
 * NAME being the last component of the repository. A reference that does not
 * parse gives a purl without repository_url, named after its last path component.
 */
export function imagePurl(ref: string, digest: string): string {
  let name: string
  let repositoryUrl: string | undefined
  let tag: string | undefined
  try {
    const r = parseReference(ref)
    name = r.repository.slice(r.repository.lastIndexOf('/') + 1)
    repositoryUrl = `${r.registry}/${r.repository}`
    tag = r.tag
  } catch {
    let rest = ref
    const at = rest.indexOf('@')
    if (at >= 0) rest = rest.slice(0, at)
    const slash = rest.lastIndexOf('/')
    const colon = rest.lastIndexOf(':')
    if (colon > slash) rest = rest.slice(0, colon)
    name = rest.slice(slash + 1)
    if (name === '') name = 'image'
  }
  return formatPurl({
    type: 'oci',
    name: name.toLowerCase(),
    version: digest,
    qualifiers: { repository_url: repositoryUrl, tag },
  })
}
