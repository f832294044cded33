// Reading image manifests and indexes (OCI and Docker schema 2) from the
// bytes a registry sent: strict JSON, a known and self-consistent media type,
// and every descriptor inside well-formed. The typed objects returned are
// fresh copies holding only the fields keel knows.
import { IntegrityError, UserError } from '../errors/index.js'
import { isDigest, mediaTypes, type Descriptor, type ImageIndex, type ImageManifest, type Platform } from '../oci/index.js'
import { isJsonObject, JsonError, parseJson, type JsonValue } from './json.js'

/** Largest manifest or index accepted, as the distribution spec suggests. */
export const maxDocumentBytes = 4 * 1024 * 1024

export const manifestTypes: ReadonlySet<string> = new Set([mediaTypes.ociManifest, mediaTypes.dockerManifest])
export const indexTypes: ReadonlySet<string> = new Set([mediaTypes.ociIndex, mediaTypes.dockerManifestList])

const schema1Types: ReadonlySet<string> = new Set([
  'application/vnd.docker.distribution.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
])

/** What GET /v2/<name>/manifests/<ref> asks for. */
export const manifestAccept = [
  mediaTypes.ociManifest,
  mediaTypes.ociIndex,
  mediaTypes.dockerManifest,
  mediaTypes.dockerManifestList,
].join(', ')

export interface ParsedDocument {
  mediaType: string
  kind: 'manifest' | 'index'
  manifest?: ImageManifest
  index?: ImageIndex
  /** Index entries whose media type keel does not know (they are in index.manifests too). */
  skipped?: Descriptor[]
}

/** The media type from a Content-Type header: parameters dropped, lower-cased. */
export function baseMediaType(contentType: string | null | undefined): string | undefined {
  if (!contentType) return undefined
  const t = contentType.split(';')[0]?.trim().toLowerCase()
  return t ? t : undefined
}

const shapeError = (where: string, why: string): never => {
  throw new IntegrityError(`${where}: ${why}`)
}

/**
 * Parses and checks a manifest or index. `contentType` is the HTTP header
 * (may be undefined or generic). Throws IntegrityError for malformed or
 * inconsistent documents and UserError for schema 1 manifests.
 */
export function parseDocument(bytes: Uint8Array, contentType?: string): ParsedDocument {
  const headerType = baseMediaType(contentType)
  if (headerType !== undefined && schema1Types.has(headerType)) throw schema1Error()
  let root: JsonValue
  try {
    root = parseJson(bytes)
  } catch (err) {
    if (err instanceof JsonError) throw new IntegrityError(`not valid JSON: ${err.message}`)
    throw err
  }
  if (!isJsonObject(root)) return shapeError('document', 'not a JSON object')

  const schemaVersion = root['schemaVersion']
  if (schemaVersion === 1) throw schema1Error()
  if (schemaVersion !== 2) {
    return shapeError('schemaVersion', `expected 2, got ${JSON.stringify(schemaVersion ?? null)}`)
  }

  const hasManifests = root['manifests'] !== undefined
  const hasLayers = root['layers'] !== undefined
  const hasConfig = root['config'] !== undefined
  if (hasManifests && (hasLayers || hasConfig)) {
    // CVE-2021-41190: a document that reads as both a manifest and an index
    // could be taken for either by different clients.
    return shapeError('document', 'has both "manifests" and "layers"/"config" (ambiguous: manifest or index?)')
  }

  const fieldType = root['mediaType']
  if (fieldType !== undefined && typeof fieldType !== 'string') return shapeError('mediaType', 'not a string')
  if (fieldType !== undefined && schema1Types.has(fieldType)) throw schema1Error()

  const headerKnown = headerType !== undefined && (manifestTypes.has(headerType) || indexTypes.has(headerType))
  if (fieldType !== undefined && headerKnown && fieldType !== headerType) {
    return shapeError('mediaType', `the document says ${fieldType} but the registry sent Content-Type ${headerType}`)
  }

  let mediaType: string
  if (fieldType !== undefined) mediaType = fieldType
  else if (headerKnown && headerType !== undefined) mediaType = headerType
  else if (hasManifests) mediaType = mediaTypes.ociIndex
  else if (hasConfig && hasLayers) mediaType = mediaTypes.ociManifest
  else return shapeError('document', 'neither a manifest (config, layers) nor an index (manifests), and no media type')

  if (indexTypes.has(mediaType)) {
    if (!hasManifests || hasLayers || hasConfig) return shapeError('document', `${mediaType} without a "manifests" list`)
    const manifestsRaw = root['manifests']
    if (!Array.isArray(manifestsRaw)) return shapeError('manifests', 'not an array')
    const manifests = manifestsRaw.map((d, i) => readDescriptor(d, `manifests[${i}]`, true))
    const index: ImageIndex = { schemaVersion: 2, manifests }
    if (fieldType !== undefined) index.mediaType = fieldType
    const annotations = readAnnotations(root['annotations'], 'annotations')
    if (annotations) index.annotations = annotations
    readOptionalSubject(root)
    const skipped = manifests.filter((d) => !manifestTypes.has(d.mediaType) && !indexTypes.has(d.mediaType))
    return { mediaType, kind: 'index', index, ...(skipped.length > 0 ? { skipped } : {}) }
  }
  if (manifestTypes.has(mediaType)) {
    if (!hasConfig || !hasLayers) return shapeError('document', `${mediaType} without "config" and "layers"`)
    const config = readDescriptor(root['config'], 'config', false)
    const layersRaw = root['layers']
    if (!Array.isArray(layersRaw)) return shapeError('layers', 'not an array')
    const layers = layersRaw.map((d, i) => readDescriptor(d, `layers[${i}]`, false))
    const manifest: ImageManifest = { schemaVersion: 2, config, layers }
    if (fieldType !== undefined) manifest.mediaType = fieldType
    const annotations = readAnnotations(root['annotations'], 'annotations')
    if (annotations) manifest.annotations = annotations
    readOptionalSubject(root)
    return { mediaType, kind: 'manifest', manifest }
  }
  throw new UserError(`unsupported manifest media type ${JSON.stringify(mediaType)} (keel reads OCI and Docker schema 2 images)`)
}

function schema1Error(): UserError {
  return new UserError('Docker schema 1 manifests are unsupported, re-push the image', {
    hint: 'schema 1 was deprecated in 2017; pushing the image again with a current docker, podman or skopeo writes schema 2',
  })
}

function readOptionalSubject(root: { [key: string]: JsonValue }): void {
  if (root['subject'] !== undefined) readDescriptor(root['subject'], 'subject', false)
}

/** Checks one descriptor and returns a clean copy of it. */
export function readDescriptor(raw: JsonValue | undefined, where: string, withPlatform: boolean): Descriptor {
  if (!isJsonObject(raw)) return shapeError(where, 'not an object')
  const mediaType = raw['mediaType']
  if (typeof mediaType !== 'string' || mediaType.length === 0 || mediaType.length > 255) {
    return shapeError(`${where}.mediaType`, 'missing or not a short string')
  }
  const digest = raw['digest']
  if (typeof digest !== 'string' || !isDigest(digest)) {
    return shapeError(`${where}.digest`, `malformed digest ${JSON.stringify(digest ?? null).slice(0, 200)} (want sha256:<64 lowercase hex> or sha512:<128 lowercase hex>)`)
  }
  const size = raw['size']
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    return shapeError(`${where}.size`, `not a non-negative integer: ${JSON.stringify(size ?? null)}`)
  }
  const d: Descriptor = { mediaType, digest, size }
  const urls = raw['urls']
  if (urls !== undefined) {
    if (!Array.isArray(urls) || urls.some((u) => typeof u !== 'string')) return shapeError(`${where}.urls`, 'not a list of strings')
    d.urls = urls as string[]
  }
  const annotations = readAnnotations(raw['annotations'], `${where}.annotations`)
  if (annotations) d.annotations = annotations
  if (raw['platform'] !== undefined) {
    if (!withPlatform) return shapeError(`${where}.platform`, 'only index entries have a platform')
    d.platform = readPlatform(raw['platform'], `${where}.platform`)
  }
  return d
}

function readAnnotations(raw: JsonValue | undefined, where: string): Record<string, string> | undefined {
  if (raw === undefined || raw === null) return undefined
  if (!isJsonObject(raw)) return shapeError(where, 'not an object')
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== 'string') return shapeError(`${where}[${JSON.stringify(k)}]`, 'not a string')
    if (k === '__proto__') continue
    out[k] = v
  }
  return out
}

function readPlatform(raw: JsonValue, where: string): Platform {
  if (!isJsonObject(raw)) return shapeError(where, 'not an object')
  const os = raw['os']
  const architecture = raw['architecture']
  if (typeof os !== 'string') return shapeError(`${where}.os`, 'missing or not a string')
  if (typeof architecture !== 'string') return shapeError(`${where}.architecture`, 'missing or not a string')
  const p: Platform = { architecture, os }
  const variant = raw['variant']
  if (variant !== undefined) {
    if (typeof variant !== 'string') return shapeError(`${where}.variant`, 'not a string')
    if (variant !== '') p.variant = variant
  }
  const osVersion = raw['os.version']
  if (osVersion !== undefined) {
    if (typeof osVersion !== 'string') return shapeError(`${where}.os.version`, 'not a string')
    p['os.version'] = osVersion
  }
  const features = raw['os.features']
  if (features !== undefined) {
    if (!Array.isArray(features) || features.some((f) => typeof f !== 'string')) {
      return shapeError(`${where}.os.features`, 'not a list of strings')
    }
    p['os.features'] = features as string[]
  }
  return p
}
