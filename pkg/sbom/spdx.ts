// The SPDX 2.3 JSON document written beside every build (NAME-sbom.spdx.json).
//
// Layout: the document DESCRIBES a root package for the OS image (named after
// the build); the root CONTAINS one package per OCI image, in the order the
// input lists them (the manifest's order); each image CONTAINS one package per
// deb/apk package found in it, sorted by (type, name, version, architecture).
// Everything is derived from the input alone — SPDXIDs from hashes of the
// image role and digest and the package coordinates, the namespace from a hash
// of the document itself — so the same input gives the same bytes.
import { createHash } from 'node:crypto'
import { UserError } from '../errors/index.js'
import { digestAlgorithm, digestHex, parseDigest } from '../oci/index.js'
import { hasDistinctSource, imagePurl, packagePurl, sourcePurl } from './purl.js'
import { sortAndDedupe, type SbomInput, type SbomPackage } from './types.js'

export const SPDX_VERSION = 'SPDX-2.3'
export const NAMESPACE_BASE = 'https://keel.invalid/spdx/'
export const ROOT_SPDXID = 'SPDXRef-OperatingSystem'

interface ExternalRef {
  referenceCategory: 'PACKAGE-MANAGER'
  referenceType: 'purl'
  referenceLocator: string
  comment?: string
}

interface SpdxPackage {
  name: string
  SPDXID: string
  versionInfo?: string
  downloadLocation: string
  filesAnalyzed: false
  checksums?: Array<{ algorithm: 'SHA256' | 'SHA512'; checksumValue: string }>
  sourceInfo?: string
  licenseConcluded: 'NOASSERTION'
  licenseDeclared: 'NOASSERTION'
  copyrightText: 'NOASSERTION'
  comment?: string
  externalRefs?: ExternalRef[]
  primaryPackagePurpose?: 'CONTAINER' | 'OPERATING-SYSTEM'
}

interface Relationship {
  spdxElementId: string
  relationshipType: 'DESCRIBES' | 'CONTAINS'
  relatedSpdxElement: string
}

/** Generates the SPDX 2.3 JSON text (2-space indentation, trailing newline) for a build. */
export function generateSbom(input: SbomInput): string {
  if (typeof input.name !== 'string' || input.name === '') throw new UserError('SBOM: the build has no name')
  const created = formatCreated(input.created)
  const ids = new Set<string>([ROOT_SPDXID])
  const unique = (base: string): string => {
    let id = base
    for (let n = 2; ids.has(id); n++) id = `${base}-${n}`
    ids.add(id)
    return id
  }

  const packages: SpdxPackage[] = [{
    name: input.name,
    SPDXID: ROOT_SPDXID,
    downloadLocation: 'NOASSERTION',
    filesAnalyzed: false,
    licenseConcluded: 'NOASSERTION',
    licenseDeclared: 'NOASSERTION',
    copyrightText: 'NOASSERTION',
    comment: 'OS image built by keel',
    primaryPackagePurpose: 'OPERATING-SYSTEM',
  }]
  const relationships: Relationship[] = [
    { spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: ROOT_SPDXID },
  ]
  const contains: Relationship[] = []

  for (const image of input.images) {
    const digest = parseDigest(image.digest, `SBOM: image ${image.role} (${image.ref})`)
    const imageId = unique(`SPDXRef-Image-${idPart(image.role)}-${shortHash(`${image.role}\n${digest}`)}`)
    packages.push({
      name: image.ref,
      SPDXID: imageId,
      versionInfo: digest,
      downloadLocation: 'NOASSERTION',
      filesAnalyzed: false,
      checksums: [{ algorithm: digestAlgorithm(digest) === 'sha512' ? 'SHA512' : 'SHA256', checksumValue: digestHex(digest) }],
      licenseConcluded: 'NOASSERTION',
      licenseDeclared: 'NOASSERTION',
      copyrightText: 'NOASSERTION',
      comment: `keel manifest role: ${image.role}`,
      externalRefs: [purlRef(imagePurl(image.ref, digest))],
      primaryPackagePurpose: 'CONTAINER',
    })
    relationships.push({ spdxElementId: ROOT_SPDXID, relationshipType: 'CONTAINS', relatedSpdxElement: imageId })

    for (const p of sortAndDedupe(image.packages)) {
      const coords = [imageId, p.type, p.name, p.version, p.architecture ?? ''].join('\n')
      const id = unique(`SPDXRef-Package-${p.type}-${idPart(p.name)}-${shortHash(coords)}`)
      packages.push(osPackage(p, id))
      contains.push({ spdxElementId: imageId, relationshipType: 'CONTAINS', relatedSpdxElement: id })
    }
  }
  relationships.push(...contains)

  const doc = {
    spdxVersion: SPDX_VERSION,
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: input.name,
    documentNamespace: '',
    creationInfo: {
      created,
      creators: [`Tool: keel-${input.toolVersion}`],
    },
    packages,
    relationships,
  }
  // The namespace names this content: a hash of the document without it.
  const hash = createHash('sha256').update(JSON.stringify(doc)).digest('hex')
  doc.documentNamespace = `${NAMESPACE_BASE}${encodeURIComponent(input.name)}-${hash}`
  return `${JSON.stringify(doc, null, 2)}\n`
}

function osPackage(p: SbomPackage, id: string): SpdxPackage {
  const externalRefs: ExternalRef[] = [purlRef(packagePurl(p))]
  const src = sourcePurl(p)
  if (src !== undefined) externalRefs.push({ ...purlRef(src), comment: 'source package' })
  let sourceInfo: string | undefined
  if (hasDistinctSource(p)) {
    sourceInfo = p.type === 'deb'
      ? `built package from: ${p.source ?? p.name} ${p.sourceVersion ?? p.version}`
      : `built package from origin: ${p.source ?? p.name}`
  }
  return {
    name: p.name,
    SPDXID: id,
    versionInfo: p.version,
    downloadLocation: 'NOASSERTION',
    filesAnalyzed: false,
    ...(sourceInfo === undefined ? {} : { sourceInfo }),
    licenseConcluded: 'NOASSERTION',
    licenseDeclared: 'NOASSERTION',
    copyrightText: 'NOASSERTION',
    externalRefs,
  }
}

function purlRef(locator: string): ExternalRef {
  return { referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: locator }
}

/** ISO 8601 UTC without milliseconds, e.g. 1970-01-01T00:00:00Z. */
export function formatCreated(d: Date): string {
  const t = d instanceof Date ? d.getTime() : Number.NaN
  if (!Number.isFinite(t)) throw new UserError('SBOM: invalid creation time')
  const iso = d.toISOString()
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(iso)) {
    throw new UserError(`SBOM: creation time ${iso} is outside the years 0000-9999`)
  }
  return `${iso.slice(0, 19)}Z`
}

/** A readable fragment of an SPDX idstring: letters, digits, '.' and '-'. */
function idPart(s: string): string {
  const part = s.replace(/[^A-Za-z0-9.-]+/g, '-').replace(/^[-.]+|[-.]+$/g, '').slice(0, 48).replace(/[-.]+$/, '')
  return part === '' ? 'x' : part
}

function shortHash(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 16)
}
