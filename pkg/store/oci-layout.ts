// OCI image layout folders (image-spec image-layout.md), as `skopeo copy ...
// oci:DIR:ref` or umoci write them: reading one into the store, writing
// stored images out as one. Also the walk over an image's blobs (index →
// manifests → config and layers) that archive.ts and maintenance.ts share.
//
// Naming convention for the layouts keel writes (here and in oci-archive):
// `org.opencontainers.image.ref.name` holds the tag ("3.20"), as the spec's
// examples and `docker save` do, so `oci:DIR:3.20` finds the image; when two
// exported images share a tag, or a reference has no tag, it holds the full
// normalised reference instead. `io.containerd.image.name` always holds the
// full normalised reference, so importing the layout back restores the name.
import { createHash } from 'node:crypto'
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { IntegrityError, UserError } from '../errors/index.js'
import {
  digestAlgorithm, digestHex, isDigest, mediaTypes, normalizeReference, parseReference, refNameAnnotation,
  type Descriptor, type Digest, type ImageIndex, type Platform,
} from '../oci/index.js'
import { tempPathFor, writeFileAtomic } from './atomic.js'
import type { Store } from './store.js'

/** The annotation containerd and Docker use for an image's full name in index.json. */
export const imageNameAnnotation = 'io.containerd.image.name'

/** How large oci-layout, index.json, manifest.json, manifests and indexes may be. */
export const maxMetadataBytes = 4 * 1024 * 1024

const maxWalkDepth = 8
const maxWalkNodes = 100_000

export function isIndexMediaType(mediaType: string): boolean {
  return mediaType === mediaTypes.ociIndex || mediaType === mediaTypes.dockerManifestList
}

export function isManifestMediaType(mediaType: string): boolean {
  return mediaType === mediaTypes.ociManifest || mediaType === mediaTypes.dockerManifest
}

/**
 * Checks that `raw` is a descriptor keel can follow: a media type, a valid
 * digest (so that paths built from it stay inside blobs/) and a size.
 */
export function checkDescriptor(raw: unknown, where: string): Descriptor {
  const fail = (why: string): never => {
    throw new IntegrityError(`${where}: ${why}`)
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('descriptor is not an object')
  const d = raw as Record<string, unknown>
  if (typeof d['mediaType'] !== 'string' || d['mediaType'] === '') fail('descriptor has no mediaType')
  if (typeof d['digest'] !== 'string' || !isDigest(d['digest'])) fail(`malformed digest ${JSON.stringify(d['digest'])}`)
  const size = d['size']
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) fail(`descriptor ${String(d['digest'])} has a bad size ${JSON.stringify(size)}`)
  const annotations = d['annotations']
  if (annotations !== undefined && (typeof annotations !== 'object' || annotations === null || Array.isArray(annotations) ||
    Object.values(annotations).some((v) => typeof v !== 'string'))) {
    fail(`descriptor ${String(d['digest'])} has malformed annotations`)
  }
  return raw as Descriptor
}

export type BlobRole = 'index' | 'manifest' | 'config' | 'layer' | 'blob'

export interface WalkNode {
  descriptor: Descriptor
  role: BlobRole
  /** The index or manifest that names this blob (undefined for the root). */
  parent: Descriptor | undefined
}

export interface WalkHandlers {
  /** Called for every blob once, before an index or manifest is read. */
  visit?(node: WalkNode): Promise<void> | void
  /**
   * Reads an index or manifest (already parsed JSON). Return undefined when it
   * is not available: the walk then does not descend into it.
   */
  read(node: WalkNode): Promise<unknown>
}

/**
 * Walks every blob reachable from `root`: an index's manifests (recursively),
 * a manifest's config and layers. Each digest is visited once. Descriptors
 * found in documents are checked with checkDescriptor before use.
 */
export async function walkImage(root: Descriptor, handlers: WalkHandlers, where: string): Promise<void> {
  const seen = new Set<string>()
  const walk = async (descriptor: Descriptor, role: BlobRole, parent: Descriptor | undefined, depth: number): Promise<void> => {
    if (seen.has(descriptor.digest)) return
    seen.add(descriptor.digest)
    if (seen.size > maxWalkNodes) throw new IntegrityError(`${where}: more than ${maxWalkNodes} blobs in one image`)
    const node: WalkNode = { descriptor, role, parent }
    await handlers.visit?.(node)
    if (role !== 'index' && role !== 'manifest') return
    if (depth >= maxWalkDepth) throw new IntegrityError(`${where}: indexes nested more than ${maxWalkDepth} deep at ${descriptor.digest}`)
    const doc = await handlers.read(node)
    if (doc === undefined) return
    if (typeof doc !== 'object' || doc === null) throw new IntegrityError(`${where}: ${role} ${descriptor.digest} is not a JSON object`)
    const body = doc as Record<string, unknown>
    if (role === 'index') {
      const manifests = body['manifests']
      if (!Array.isArray(manifests)) throw new IntegrityError(`${where}: index ${descriptor.digest} has no manifests list`)
      for (const [i, m] of manifests.entries()) {
        const child = checkDescriptor(m, `${where}: index ${descriptor.digest} manifests[${i}]`)
        await walk(child, roleOf(child.mediaType), descriptor, depth + 1)
      }
      return
    }
    const config = body['config']
    const layers = body['layers']
    if (config === undefined || !Array.isArray(layers)) throw new IntegrityError(`${where}: manifest ${descriptor.digest} has no config or layers`)
    await walk(checkDescriptor(config, `${where}: manifest ${descriptor.digest} config`), 'config', descriptor, depth + 1)
    for (const [i, l] of layers.entries()) {
      await walk(checkDescriptor(l, `${where}: manifest ${descriptor.digest} layers[${i}]`), 'layer', descriptor, depth + 1)
    }
  }
  await walk(root, roleOf(root.mediaType), undefined, 0)
}

function roleOf(mediaType: string): BlobRole {
  if (isIndexMediaType(mediaType)) return 'index'
  if (isManifestMediaType(mediaType)) return 'manifest'
  return 'blob'
}

/** Parses a JSON document read from outside, as a UserError naming where it came from. */
export function parseJsonDocument(data: Buffer, where: string): unknown {
  try {
    return JSON.parse(data.toString('utf8')) as unknown
  } catch (err) {
    throw new UserError(`${where}: not valid JSON: ${(err as Error).message}`)
  }
}

/** Checks an `oci-layout` file's content. */
export function checkLayoutFile(data: Buffer, where: string): void {
  const layout = parseJsonDocument(data, where) as { imageLayoutVersion?: unknown } | null
  if (typeof layout !== 'object' || layout === null || layout.imageLayoutVersion !== '1.0.0') {
    throw new UserError(`${where}: unsupported imageLayoutVersion ${JSON.stringify(layout?.imageLayoutVersion)} (keel reads 1.0.0)`)
  }
}

/** Checks an index.json's content: an image index whose descriptors can be followed. */
export function checkIndexFile(data: Buffer, where: string): ImageIndex {
  const index = parseJsonDocument(data, where) as { manifests?: unknown } | null
  if (typeof index !== 'object' || index === null || !Array.isArray(index.manifests)) {
    throw new UserError(`${where}: not an image index (no manifests list)`)
  }
  index.manifests.forEach((m, i) => checkDescriptor(m, `${where}: manifests[${i}]`))
  return index as ImageIndex
}

/**
 * The store reference an index.json entry names, when it names a full one:
 * `io.containerd.image.name`, else a ref.name that is a whole reference
 * ("docker.io/library/alpine:3.20", "alpine:3.20"). A bare tag ("latest")
 * is not a reference on its own: undefined.
 */
export function referenceFromAnnotations(annotations: Record<string, string> | undefined): string | undefined {
  for (const raw of [annotations?.[imageNameAnnotation], annotations?.[refNameAnnotation]]) {
    if (raw === undefined || !/[/:@]/.test(raw)) continue
    try {
      return normalizeReference(raw)
    } catch {
      // not a reference: try the next
    }
  }
  return undefined
}

/** The platforms as "os/arch[/variant]". */
export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`
}

export interface OciLayout {
  dir: string
  imageLayoutVersion: string
  index: ImageIndex
}

/** Reads an OCI image layout folder's oci-layout and index.json. */
export async function readOciLayout(dir: string): Promise<OciLayout> {
  const readSmall = async (name: string): Promise<Buffer> => {
    const path = join(dir, name)
    try {
      const st = await stat(path)
      if (!st.isFile()) throw new UserError(`${path}: not a file`)
      if (st.size > maxMetadataBytes) throw new UserError(`${path}: ${st.size} bytes, larger than ${maxMetadataBytes}`)
      return await readFile(path)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new UserError(`${dir} is not an OCI image layout: it has no ${name}`)
      }
      throw err
    }
  }
  checkLayoutFile(await readSmall('oci-layout'), join(dir, 'oci-layout'))
  const index = checkIndexFile(await readSmall('index.json'), join(dir, 'index.json'))
  return { dir, imageLayoutVersion: '1.0.0', index }
}

/** The path of a blob in a layout folder; only ever built from a validated digest. */
export function layoutBlobPath(dir: string, digest: Digest): string {
  if (!isDigest(digest)) throw new IntegrityError(`malformed digest ${JSON.stringify(digest)}`)
  return join(dir, 'blobs', digestAlgorithm(digest), digestHex(digest))
}

/** Strips the naming annotations from an index.json entry, keeping the rest. */
export function bareDescriptor(d: Descriptor): Descriptor {
  const annotations = { ...d.annotations }
  delete annotations[refNameAnnotation]
  delete annotations[imageNameAnnotation]
  return {
    mediaType: d.mediaType,
    digest: d.digest,
    size: d.size,
    ...(d.platform ? { platform: d.platform } : {}),
    ...(d.urls ? { urls: d.urls } : {}),
    ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
  }
}

/**
 * Copies one image of an OCI layout folder into the store: every blob
 * reachable from the chosen index.json entry, each verified against its
 * digest and size while it streams. `ref` picks the entry by its
 * `org.opencontainers.image.ref.name` (the :ref of oci:DIR:ref); without it
 * the layout must hold exactly one. `name` (a reference) is tagged in the
 * store when given; `refs` is what was tagged (empty without `name`).
 */
export async function importOciLayout(store: Store, dir: string, options: { ref?: string; name?: string } = {}): Promise<{ descriptor: Descriptor; refs: string[] }> {
  const layout = await readOciLayout(dir)
  const name = options.name === undefined ? undefined : normalizeReference(options.name)
  const entries = layout.index.manifests
  const refNames = entries.map((m) => m.annotations?.[refNameAnnotation]).filter((r): r is string => r !== undefined)
  const listing = refNames.length > 0 ? refNames.join(', ') : 'none'
  let chosen: Descriptor | undefined
  if (options.ref !== undefined) {
    const matches = entries.filter((m) => m.annotations?.[refNameAnnotation] === options.ref)
    if (matches.length === 0) throw new UserError(`OCI layout ${dir} has no image named ${JSON.stringify(options.ref)} (it has: ${listing})`)
    if (new Set(matches.map((m) => m.digest)).size > 1) throw new UserError(`OCI layout ${dir} has several different images named ${JSON.stringify(options.ref)}`)
    chosen = matches[0]
  } else if (entries.length === 1) {
    chosen = entries[0]
  } else if (entries.length === 0) {
    throw new UserError(`OCI layout ${dir} holds no images`)
  } else {
    throw new UserError(`OCI layout ${dir} holds ${entries.length} images; name one as oci:${dir}:REF (it has: ${listing})`)
  }
  const top = bareDescriptor(chosen!)
  if (roleOf(top.mediaType) === 'blob') {
    throw new UserError(`OCI layout ${dir}: ${top.digest} is a ${top.mediaType}, not an image manifest or index`)
  }
  await walkImage(top, {
    visit: async ({ descriptor }) => {
      if (await store.hasBlob(descriptor.digest)) return
      if (digestAlgorithm(descriptor.digest) !== 'sha256') {
        throw new UserError(`OCI layout ${dir}: blob ${descriptor.digest}: only sha256 blobs are supported`)
      }
      const file = layoutBlobPath(dir, descriptor.digest)
      let fh
      try {
        fh = await open(file, 'r')
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
          if (descriptor.urls && descriptor.urls.length > 0) return // a foreign layer, fetched from its URLs when needed
          throw new UserError(`OCI layout ${dir} is incomplete: ${file} (${descriptor.digest}) is missing`)
        }
        throw err
      }
      try {
        await store.putBlobStream(fh.createReadStream({ autoClose: false }), { digest: descriptor.digest, size: descriptor.size })
      } catch (err) {
        if (err instanceof IntegrityError) {
          throw new IntegrityError(`OCI layout ${dir}: ${file} does not match its name: ${err.message}`, { cause: err })
        }
        throw err
      } finally {
        await fh.close()
      }
    },
    read: async ({ descriptor }) => {
      if (!(await store.hasBlob(descriptor.digest))) return undefined
      return store.readJson(descriptor.digest)
    },
  }, `OCI layout ${dir}`)
  if (name !== undefined) await store.tag(name, top)
  return { descriptor: top, refs: name === undefined ? [] : [name] }
}

// ---------- writing layouts ----------

export interface LayoutPlan {
  /** index.json's entries, named per the convention at the top of this file. */
  index: ImageIndex
  /** Every blob to write, each once, sorted by digest. */
  blobs: Descriptor[]
}

/**
 * Resolves stored references and lists what an OCI layout of them holds.
 * Unknown references are a UserError naming all of them; a blob missing from
 * the store is an IntegrityError naming the image.
 */
export async function planOciLayout(store: Store, refs: readonly string[]): Promise<LayoutPlan> {
  if (refs.length === 0) throw new UserError('name at least one image to export')
  const images = await resolveStored(store, refs)
  const blobs = new Map<string, Descriptor>()
  for (const { ref, descriptor } of images) {
    await walkImage(descriptor, {
      visit: async ({ descriptor: d }) => {
        if (blobs.has(d.digest)) return
        if (!(await store.hasBlob(d.digest))) {
          if (d.urls && d.urls.length > 0) return
          throw new IntegrityError(`image ${ref}: blob ${d.digest} is missing from the store at ${store.root}; pull the image again`)
        }
        blobs.set(d.digest, { mediaType: d.mediaType, digest: d.digest, size: d.size })
      },
      read: async ({ descriptor: d }) => store.readJson(d.digest),
    }, `image ${ref}`)
  }
  const tagCounts = new Map<string, number>()
  for (const { ref } of images) {
    const tag = parseReference(ref).tag
    if (tag !== undefined) tagCounts.set(tag, (tagCounts.get(tag) ?? 0) + 1)
  }
  const manifests = images.map(({ ref, descriptor }): Descriptor => {
    const tag = parseReference(ref).tag
    const refName = tag !== undefined && tagCounts.get(tag) === 1 ? tag : ref
    const bare = bareDescriptor(descriptor)
    const annotations = Object.fromEntries(Object.entries({ ...bare.annotations, [refNameAnnotation]: refName, [imageNameAnnotation]: ref })
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    return {
      mediaType: bare.mediaType,
      digest: bare.digest,
      size: bare.size,
      ...(bare.platform ? { platform: bare.platform } : {}),
      annotations,
    }
  })
  return {
    index: { schemaVersion: 2, mediaType: mediaTypes.ociIndex, manifests },
    blobs: [...blobs.values()].sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0)),
  }
}

/** Normalises and resolves references in the store, in order, each once. */
export async function resolveStored(store: Store, refs: readonly string[]): Promise<Array<{ ref: string; descriptor: Descriptor }>> {
  const out: Array<{ ref: string; descriptor: Descriptor }> = []
  const unknown: string[] = []
  for (const raw of refs) {
    const ref = normalizeReference(raw)
    if (out.some((o) => o.ref === ref)) continue
    const descriptor = await store.resolve(ref)
    if (descriptor) out.push({ ref, descriptor })
    else unknown.push(raw === ref ? ref : `${raw} (${ref})`)
  }
  if (unknown.length > 0) {
    throw new UserError(`no image ${unknown.join(', ')} in the store at ${store.root}`, { hint: 'see the stored images with: keel cache ls' })
  }
  return out
}

/** JSON for a layout's index.json, byte-for-byte the same for the same plan. */
export function layoutIndexJson(plan: LayoutPlan): string {
  return JSON.stringify(plan.index)
}

export const layoutFileJson = '{"imageLayoutVersion":"1.0.0"}'

/**
 * A stream of a stored blob that fails (with IntegrityError) at its end when
 * the bytes do not match the digest or size: for copying blobs out.
 */
export function openVerifiedBlob(store: Store, d: Descriptor): Readable {
  const hash = createHash(digestAlgorithm(d.digest))
  let size = 0
  const source = store.openBlob(d.digest)
  async function* verified(): AsyncGenerator<Buffer> {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      hash.update(chunk)
      size += chunk.length
      yield chunk
    }
    const got = `${digestAlgorithm(d.digest)}:${hash.digest('hex')}`
    if (got !== d.digest || size !== d.size) {
      throw new IntegrityError(`store blob ${store.blobPath(d.digest)} does not match its descriptor: expected ${d.digest} (${d.size} bytes), got ${got} (${size} bytes); run "keel cache verify"`)
    }
  }
  return Readable.from(verified(), { objectMode: false })
}

/**
 * Writes stored images to an OCI image layout folder `dir`, which must not
 * exist or be empty. Blobs are copied (verified on the way), index.json names
 * each image as described at the top of this file.
 */
export async function exportOciLayout(store: Store, refs: string[], dir: string): Promise<void> {
  const plan = await planOciLayout(store, refs)
  let existing: string[] = []
  try {
    existing = await readdir(dir)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  if (existing.length > 0) throw new UserError(`${dir} exists and is not empty; keel writes OCI layouts to a new folder`)
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true })
  for (const blob of plan.blobs) {
    const target = layoutBlobPath(dir, blob.digest)
    await mkdir(join(dir, 'blobs', digestAlgorithm(blob.digest)), { recursive: true })
    const tmp = tempPathFor(target)
    const fh = await open(tmp, 'wx', 0o644)
    try {
      await pipeline(openVerifiedBlob(store, blob), new Writable({
        write(chunk: Buffer, _enc, cb) {
          fh.write(chunk).then(() => cb(), cb)
        },
      }))
      await fh.sync()
      await fh.close()
      await rename(tmp, target)
    } catch (err) {
      await fh.close().catch(() => undefined)
      await rm(tmp, { force: true })
      throw err
    }
  }
  await writeFileAtomic(join(dir, 'oci-layout'), layoutFileJson)
  await writeFileAtomic(join(dir, 'index.json'), layoutIndexJson(plan))
}


/**
 * The manifest of `platform` when `d` is an index (recursively), else `d`.
 * A UserError lists the platforms there are when none matches.
 */
export async function selectPlatform(store: Store, d: Descriptor, platform: Platform, ref: string, depth = 0): Promise<Descriptor> {
  if (!isIndexMediaType(d.mediaType)) return d
  if (depth >= maxWalkDepth) throw new IntegrityError(`image ${ref}: indexes nested more than ${maxWalkDepth} deep`)
  const index = await store.readJson<{ manifests?: unknown }>(d.digest)
  if (!Array.isArray(index.manifests)) throw new IntegrityError(`image ${ref}: index ${d.digest} has no manifests list`)
  const children = index.manifests.map((m, i) => checkDescriptor(m, `image ${ref}: index ${d.digest} manifests[${i}]`))
  const match = children.find((m) => m.platform?.os === platform.os && m.platform.architecture === platform.architecture &&
    (platform.variant === undefined || m.platform.variant === platform.variant))
  if (!match) {
    const have = children.flatMap((m) => (m.platform ? [formatPlatform(m.platform)] : [])).join(', ')
    throw new UserError(`image ${ref} has no ${formatPlatform(platform)} variant (it has: ${have || 'none'})`)
  }
  return selectPlatform(store, match, platform, ref, depth + 1)
}
