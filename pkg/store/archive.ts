// Single-file image archives, read and written as streams:
//
//   oci-archive     a tar of an OCI image layout (oci-layout, index.json, blobs/<alg>/<hex>)
//   docker-archive  what `docker save` and `skopeo copy ... docker-archive:` write:
//                   manifest.json = [{Config, RepoTags, Layers}] naming files in the tar
//                   (classic <hex>.json / <hex>.tar / <id>/layer.tar, or blobs/sha256/<hex>)
//
// Importing reads the tar once: blobs stream straight into the store (never
// unpacked to disk, never held in memory), the metadata files are buffered
// (bounded), and images are tagged only once everything checked out, all in
// one write of index.json. A docker-archive that names, in a manifest.json
// near the end, a file that the first pass skipped is read a second time for
// just those files.
//
// Exporting writes a temp file beside the target (created exclusively) and
// renames it at the end. Entries are sorted, mtime 0, owners 0, so the same
// images give the same bytes. See oci-layout.ts for how index.json names images.
import { createHash } from 'node:crypto'
import { open, rename, rm, stat } from 'node:fs/promises'
import { posix } from 'node:path'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGunzip, type Gunzip } from 'node:zlib'
import tar from 'tar-stream'
import { IntegrityError, UserError } from '../errors/index.js'
import type { Logger } from '../log/index.js'
import {
  digestAlgorithm, digestHex, familiarReference, isDigest, layerCompression, mediaTypes, normalizeReference, parseReference, refNameAnnotation,
  type Descriptor, type Digest, type ImageManifest, type Platform,
} from '../oci/index.js'
import { comparePaths } from '../tar/index.js'
import { tempPathFor } from './atomic.js'
import {
  bareDescriptor, checkDescriptor, checkIndexFile, checkLayoutFile, isIndexMediaType, isManifestMediaType, layoutFileJson, layoutIndexJson,
  openVerifiedBlob, parseJsonDocument, planOciLayout, referenceFromAnnotations, resolveStored, selectPlatform, walkImage,
} from './oci-layout.js'
import type { Store } from './store.js'

type TarHeader = Parameters<tar.Pack['entry']>[0]
type TarSink = ReturnType<tar.Pack['entry']>
type TarEntry = AsyncIterable<Buffer> & { header: tar.Header }

export type ArchiveFormat = 'docker-archive' | 'oci-archive'

/** Bounds on what an archive may hold, against hostile or broken input. */
export interface ArchiveLimits {
  maxEntries: number
  maxNameLength: number
  /** Sum of the sizes of all regular files in the tar. */
  maxTotalBytes: number
  /** manifest.json, index.json, oci-layout. */
  maxMetadataBytes: number
}

export const defaultArchiveLimits: ArchiveLimits = {
  maxEntries: 200_000,
  maxNameLength: 1024,
  maxTotalBytes: 64 * 1024 ** 3,
  maxMetadataBytes: 4 * 1024 * 1024,
}

export interface ImportArchiveOptions {
  format?: 'auto' | ArchiveFormat
  log: Logger
  limits?: Partial<ArchiveLimits>
}

export interface ImportedImage {
  /** The store reference tagged, or undefined when the archive gave no full name. */
  ref: string | undefined
  /** The manifest (or index) stored, without naming annotations. */
  descriptor: Descriptor
  /** oci-archive: the entry's raw org.opencontainers.image.ref.name (may be a bare tag). */
  refName?: string
}

const metadataNames = new Set(['manifest.json', 'index.json', 'oci-layout'])
const gzipMagic = Buffer.from([0x1f, 0x8b])
const zstdMagic = Buffer.from([0x28, 0xb5, 0x2f, 0xfd])

/** A blob streamed from the archive into the store. */
interface ArchivedBlob {
  digest: Digest
  size: number
  compression: 'none' | 'gzip' | 'zstd'
  /** Digest of the decompressed bytes (gzip only, when computed). */
  uncompressed?: Digest
  /** Why decompressing failed (gzip only). */
  gzipError?: string
}

interface Scan {
  /** Archive path → blob, for every file streamed into the store. */
  blobs: Map<string, ArchivedBlob>
  /** Symlinks and hard links: path → target path, or why the target is unusable. */
  links: Map<string, string | { bad: string }>
  /** Regular files seen but not streamed. */
  skipped: Set<string>
  metadata: Map<string, Buffer>
}

/**
 * Imports the images of an archive into the store. Returns one entry per
 * name tagged (docker-archive: per RepoTags entry) and one per untagged image.
 */
export async function importArchive(store: Store, path: string, options: ImportArchiveOptions): Promise<ImportedImage[]> {
  const limits = { ...defaultArchiveLimits, ...options.limits }
  const format = options.format ?? 'auto'
  const where = `archive ${path}`
  try {
    const st = await stat(path)
    if (!st.isFile()) throw new UserError(`${where}: not a file`)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new UserError(`${where} does not exist`)
    throw err
  }
  const scan = await scanArchive(store, path, { mode: format, limits, log: options.log })
  let kind: ArchiveFormat
  const isDocker = scan.metadata.has('manifest.json')
  const isOci = scan.metadata.has('oci-layout') && scan.metadata.has('index.json')
  if (format === 'auto') {
    if (isDocker) kind = 'docker-archive'
    else if (isOci) kind = 'oci-archive'
    else throw new UserError(`${where} is neither a docker-archive (no manifest.json) nor an oci-archive (no oci-layout and index.json)`)
  } else {
    kind = format
    if (kind === 'docker-archive' && !isDocker) {
      throw new UserError(`${where} is not a docker-archive: it has no manifest.json${isOci ? ' (it looks like an oci-archive)' : ''}`)
    }
    if (kind === 'oci-archive' && !isOci) {
      throw new UserError(`${where} is not an oci-archive: it has no ${scan.metadata.has('oci-layout') ? 'index.json' : 'oci-layout'}${isDocker ? ' (it looks like a docker-archive)' : ''}`)
    }
  }
  const images = kind === 'oci-archive'
    ? await ociImages(store, scan, where, options.log)
    : await dockerImages(store, scan, path, where, limits, options.log)
  await store.tagAll(images.flatMap((i) => (i.ref === undefined ? [] : [{ ref: i.ref, descriptor: i.descriptor }])))
  options.log.debug(`${where}: imported ${images.length} image${images.length === 1 ? '' : 's'} (${kind})`)
  return images
}

/** Checks a path inside an archive; returns it normalised, or undefined for the archive's root. Throws the reason. */
function memberPath(raw: string): string | undefined {
  if (raw.includes('\0')) throw new Error('contains a NUL byte')
  if (raw.startsWith('/')) throw new Error('is an absolute path')
  let name = raw
  while (name.startsWith('./')) name = name.slice(2)
  if (name.endsWith('/')) name = name.slice(0, -1)
  if (name === '' || name === '.') return undefined
  const parts = name.split('/')
  if (parts.includes('')) throw new Error('has an empty path component (//)')
  if (parts.includes('..')) throw new Error('has a ".." component')
  if (parts.includes('.')) throw new Error('has a "." component')
  return name
}

/** `blobs/<alg>/<hex>` → its digest; undefined for other paths or invalid names. */
function blobPathDigest(path: string): Digest | undefined {
  const m = /^blobs\/([^/]+)\/([^/]+)$/.exec(path)
  if (!m) return undefined
  const raw = `${m[1]}:${m[2]}`
  return isDigest(raw) ? raw : undefined
}

/** Could this docker-archive file be a config or a layer? (The legacy <id>/json and VERSION files are not.) */
function couldBeDockerBlob(path: string): boolean {
  if (metadataNames.has(path) || path === 'repositories') return false
  return path.endsWith('.tar') || path.endsWith('.json') || path.startsWith('blobs/')
}

/** The paths a (possibly invalid) manifest.json names, for deciding what to stream. */
function referencedPaths(data: Buffer): Set<string> {
  const out = new Set<string>()
  try {
    const entries = JSON.parse(data.toString('utf8')) as unknown
    if (!Array.isArray(entries)) return out
    for (const e of entries as Array<Record<string, unknown>>) {
      const names = [e?.['Config'], ...(Array.isArray(e?.['Layers']) ? e['Layers'] as unknown[] : [])]
      for (const n of names) {
        if (typeof n !== 'string') continue
        try {
          const p = memberPath(n)
          if (p !== undefined) out.add(p)
        } catch {
          // reported when the manifest is checked
        }
      }
    }
  } catch {
    // reported when the manifest is checked
  }
  return out
}

interface ScanOptions {
  mode: 'auto' | ArchiveFormat
  limits: ArchiveLimits
  log: Logger
  /** Second pass: stream exactly these paths, nothing else. */
  only?: ReadonlySet<string>
}

/** Reads the tar once, streaming blobs into the store. */
async function scanArchive(store: Store, path: string, options: ScanOptions): Promise<Scan> {
  const { mode, limits, log, only } = options
  const where = `archive ${path}`
  const scan: Scan = { blobs: new Map(), links: new Map(), skipped: new Set(), metadata: new Map() }
  const seen = new Set<string>()
  let wanted: Set<string> | undefined
  let entries = 0
  let total = 0

  const fh = await open(path, 'r')
  const head = Buffer.alloc(2)
  await fh.read(head, 0, 2, 0)
  const input = fh.createReadStream({ start: 0 })
  const gunzip = head.equals(gzipMagic) ? createGunzip() : undefined
  const extract = tar.extract()
  const source: Readable = gunzip ? input.pipe(gunzip) : input
  input.on('error', (err) => extract.destroy(err))
  gunzip?.on('error', (err) => extract.destroy(err))
  source.pipe(extract as unknown as NodeJS.WritableStream)
  const it = extract[Symbol.asyncIterator]()
  try {
    for (;;) {
      let next: IteratorResult<TarEntry>
      try {
        next = (await it.next()) as IteratorResult<TarEntry>
      } catch (err) {
        throw new UserError(`${where}: cannot be read as a tar${gunzip ? '.gz' : ''} archive: ${(err as Error).message}`, { cause: err })
      }
      if (next.done) break
      const entry = next.value
      const header = entry.header
      const fail = (why: string): never => {
        throw new UserError(`${where}: entry ${JSON.stringify(header.name)} ${why}`)
      }
      if (++entries > limits.maxEntries) throw new UserError(`${where}: more than ${limits.maxEntries} entries`)
      if (Buffer.byteLength(header.name) > limits.maxNameLength) fail(`has a name longer than ${limits.maxNameLength} bytes`)
      let name: string | undefined
      try {
        name = memberPath(header.name)
      } catch (err) {
        fail(`is refused: its name ${(err as Error).message}`)
      }
      if (name === undefined || header.type === 'directory') {
        await drain(entry)
        continue
      }
      if (seen.has(name)) fail('appears twice')
      seen.add(name)
      if (header.type === 'symlink' || header.type === 'link') {
        // docker save writes repeated layers as links to the first copy.
        let target: string | { bad: string }
        try {
          if (header.type === 'symlink' && header.linkname.startsWith('/')) throw new Error('is an absolute path')
          const joined = header.type === 'symlink' ? posix.join(posix.dirname(name), header.linkname) : header.linkname
          target = memberPath(joined) ?? { bad: 'points at the archive root' }
        } catch (err) {
          target = { bad: `points outside the archive (${JSON.stringify(header.linkname)} ${(err as Error).message})` }
        }
        scan.links.set(name, target)
        await drain(entry)
        continue
      }
      if (header.type !== 'file' && header.type !== 'contiguous-file') {
        log.debug(`${where}: skipping ${header.type} entry ${name}`)
        await drain(entry)
        continue
      }
      total += header.size
      if (total > limits.maxTotalBytes) throw new UserError(`${where}: holds more than ${limits.maxTotalBytes} bytes`)

      if (only !== undefined) {
        if (only.has(name)) scan.blobs.set(name, await streamBlob(store, entry, undefined, true, where, name))
        else await drain(entry)
        continue
      }
      if (metadataNames.has(name)) {
        if (header.size > limits.maxMetadataBytes) fail(`is ${header.size} bytes, more than the ${limits.maxMetadataBytes} keel reads`)
        const data = await readAll(entry, limits.maxMetadataBytes)
        scan.metadata.set(name, data)
        if (name === 'manifest.json' && mode !== 'oci-archive') wanted = referencedPaths(data)
        continue
      }
      const docker = mode !== 'oci-archive'
      const expected = blobPathDigest(name)
      if (expected !== undefined) {
        if (digestAlgorithm(expected) !== 'sha256') {
          log.warn(`${where}: skipping ${name}: only sha256 blobs are supported`)
          scan.skipped.add(name)
          await drain(entry)
          continue
        }
        scan.blobs.set(name, await streamBlob(store, entry, { digest: expected, size: header.size }, docker, where, name))
      } else if (docker && (wanted ? wanted.has(name) : couldBeDockerBlob(name))) {
        scan.blobs.set(name, await streamBlob(store, entry, undefined, true, where, name))
      } else {
        log.debug(`${where}: skipping ${name}`)
        scan.skipped.add(name)
        await drain(entry)
      }
    }
  } finally {
    await it.return?.().catch(() => undefined)
    input.destroy()
    gunzip?.destroy()
    await fh.close().catch(() => undefined)
  }
  return scan
}

async function drain(entry: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of entry) {
    // discard
  }
}

async function readAll(entry: AsyncIterable<Buffer>, max: number): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of entry) {
    size += chunk.length
    if (size > max) throw new UserError(`metadata file larger than ${max} bytes`)
    chunks.push(chunk)
  }
  return Buffer.concat(chunks)
}

/** Hashes the decompressed bytes of a gzip stream fed to it chunk by chunk. */
class GunzipHasher {
  private readonly gunzip: Gunzip = createGunzip()
  private readonly hash = createHash('sha256')
  private error: Error | undefined
  private readonly ended: Promise<void>

  constructor() {
    this.gunzip.on('data', (chunk: Buffer) => this.hash.update(chunk))
    this.ended = new Promise((resolve) => {
      this.gunzip.on('end', () => resolve())
      this.gunzip.on('error', (err) => {
        this.error = err
        resolve()
      })
    })
  }

  write(chunk: Buffer): Promise<void> {
    if (this.error) return Promise.resolve()
    return new Promise((resolve) => this.gunzip.write(chunk, () => resolve()))
  }

  async end(): Promise<{ digest: Digest } | { error: string }> {
    if (!this.error) this.gunzip.end()
    await this.ended
    return this.error ? { error: this.error.message } : { digest: `sha256:${this.hash.digest('hex')}` }
  }
}

/**
 * Streams one tar entry into the store, noting how it is compressed and, for
 * gzip when `hashUncompressed`, the digest of its decompressed bytes.
 */
async function streamBlob(
  store: Store, entry: AsyncIterable<Buffer>, expected: { digest: Digest; size: number } | undefined,
  hashUncompressed: boolean, where: string, name: string,
): Promise<ArchivedBlob> {
  let head = Buffer.alloc(0)
  let pending: Buffer[] | undefined = []
  let hasher: GunzipHasher | undefined
  const decide = async (): Promise<void> => {
    if (pending === undefined) return
    const held = pending
    pending = undefined
    if (hashUncompressed && head.subarray(0, 2).equals(gzipMagic)) {
      hasher = new GunzipHasher()
      for (const c of held) await hasher.write(c)
    }
  }
  async function* observed(): AsyncGenerator<Buffer> {
    for await (const chunk of entry) {
      if (head.length < 4) head = Buffer.concat([head, chunk.subarray(0, 4 - head.length)])
      if (pending !== undefined) {
        pending.push(chunk)
        if (head.length >= 4) await decide()
      } else if (hasher) {
        await hasher.write(chunk)
      }
      yield chunk
    }
    await decide()
  }
  let info
  try {
    info = await store.putBlobStream(Readable.from(observed()), expected)
  } catch (err) {
    if (err instanceof IntegrityError) {
      throw new IntegrityError(`${where}: entry ${name} does not match its name: ${err.message}`, { cause: err })
    }
    throw err
  }
  const compression = head.subarray(0, 2).equals(gzipMagic) ? 'gzip' : head.equals(zstdMagic) ? 'zstd' : 'none'
  const blob: ArchivedBlob = { digest: info.digest, size: info.size, compression }
  if (hasher) {
    const r = await hasher.end()
    if ('digest' in r) blob.uncompressed = r.digest
    else blob.gzipError = r.error
  }
  return blob
}

// ---------- oci-archive ----------

async function ociImages(store: Store, scan: Scan, where: string, log: Logger): Promise<ImportedImage[]> {
  checkLayoutFile(scan.metadata.get('oci-layout')!, `${where}: oci-layout`)
  const index = checkIndexFile(scan.metadata.get('index.json')!, `${where}: index.json`)
  const out: ImportedImage[] = []
  for (const entry of index.manifests) {
    const descriptor = bareDescriptor(entry)
    const refName = entry.annotations?.[refNameAnnotation]
    if (!isIndexMediaType(descriptor.mediaType) && !isManifestMediaType(descriptor.mediaType)) {
      log.warn(`${where}: skipping index.json entry ${descriptor.digest}: ${descriptor.mediaType} is not an image`)
      continue
    }
    await walkImage(descriptor, {
      visit: async ({ descriptor: d, parent }) => {
        if (await store.hasBlob(d.digest)) return
        if (d.urls && d.urls.length > 0) return // a foreign layer
        throw new UserError(`${where}: blob ${d.digest} (named by ${parent ? parent.digest : 'index.json'}) is not in the archive`)
      },
      read: ({ descriptor: d }) => store.readJson(d.digest),
    }, where)
    out.push({ ref: referenceFromAnnotations(entry.annotations), descriptor, ...(refName === undefined ? {} : { refName }) })
  }
  return out
}

// ---------- docker-archive ----------

interface DockerManifestEntry {
  Config: string
  RepoTags: string[]
  Layers: string[]
}

function parseDockerManifest(data: Buffer, where: string): DockerManifestEntry[] {
  const raw = parseJsonDocument(data, `${where}: manifest.json`)
  const fail = (why: string): never => {
    throw new UserError(`${where}: manifest.json ${why}`)
  }
  if (!Array.isArray(raw)) fail('is not a list')
  return (raw as unknown[]).map((e, i) => {
    if (typeof e !== 'object' || e === null) fail(`entry ${i + 1} is not an object`)
    const o = e as Record<string, unknown>
    if (typeof o['Config'] !== 'string') fail(`entry ${i + 1} has no Config`)
    if (!Array.isArray(o['Layers']) || o['Layers'].some((l) => typeof l !== 'string')) fail(`entry ${i + 1} has no Layers list`)
    const tags = o['RepoTags'] ?? []
    if (!Array.isArray(tags) || tags.some((t) => typeof t !== 'string')) fail(`entry ${i + 1} has a malformed RepoTags`)
    return { Config: o['Config'] as string, RepoTags: tags as string[], Layers: o['Layers'] as string[] }
  })
}

async function dockerImages(store: Store, scan: Scan, path: string, where: string, limits: ArchiveLimits, log: Logger): Promise<ImportedImage[]> {
  const entries = parseDockerManifest(scan.metadata.get('manifest.json')!, where)
  const locate = (raw: string): string => {
    let p: string | undefined
    try {
      p = memberPath(raw)
    } catch (err) {
      throw new UserError(`${where}: manifest.json names ${JSON.stringify(raw)}, which is refused: it ${(err as Error).message}`)
    }
    if (p === undefined) throw new UserError(`${where}: manifest.json names ${JSON.stringify(raw)}, which is not a file`)
    for (let hops = 0; scan.links.has(p); hops++) {
      const target: string | { bad: string } = scan.links.get(p)!
      if (typeof target !== 'string') throw new UserError(`${where}: manifest.json names ${JSON.stringify(raw)}, a link that ${target.bad}`)
      if (hops > 16) throw new UserError(`${where}: manifest.json names ${JSON.stringify(raw)}, a link in a loop`)
      p = target
    }
    if (!scan.blobs.has(p) && !scan.skipped.has(p)) throw new UserError(`${where}: manifest.json names ${JSON.stringify(raw)}, which is not in the archive`)
    return p
  }
  // Resolve every name first: a bad one fails before anything is built.
  const located = entries.map((e) => ({ config: locate(e.Config), layers: e.Layers.map(locate) }))
  const again = new Set(located.flatMap((l) => [l.config, ...l.layers]).filter((p) => !scan.blobs.has(p)))
  if (again.size > 0) {
    log.debug(`${where}: reading the archive again for ${again.size} file${again.size === 1 ? '' : 's'} named after manifest.json`)
    const second = await scanArchive(store, path, { mode: 'docker-archive', limits, log, only: again })
    for (const [p, b] of second.blobs) scan.blobs.set(p, b)
  }
  const blobAt = (p: string): ArchivedBlob => {
    const b = scan.blobs.get(p)
    if (!b) throw new UserError(`${where}: ${p} could not be read`)
    return b
  }

  const out: ImportedImage[] = []
  for (const [i, e] of entries.entries()) {
    const image = e.RepoTags[0] ?? `manifest.json entry ${i + 1}`
    const refs = e.RepoTags.map((t) => {
      try {
        return normalizeReference(t)
      } catch (err) {
        throw new UserError(`${where}: image ${image}: RepoTags entry ${JSON.stringify(t)} is not a valid reference: ${(err as Error).message}`)
      }
    })
    const loc = located[i]!
    const configBlob = blobAt(loc.config)
    const config = await store.readJson<Record<string, unknown> | null>(configBlob.digest) ?? {}
    const rootfs = typeof config === 'object' ? config['rootfs'] as { diff_ids?: unknown } | undefined : undefined
    const diffIds = typeof rootfs === 'object' && rootfs !== null ? rootfs.diff_ids : undefined
    if (!Array.isArray(diffIds) || diffIds.some((d) => typeof d !== 'string' || !isDigest(d))) {
      throw new IntegrityError(`${where}: image ${image}: config ${e.Config} is not an image config (no valid rootfs.diff_ids)`)
    }
    if (diffIds.length !== e.Layers.length) {
      throw new IntegrityError(`${where}: image ${image}: config ${e.Config} lists ${diffIds.length} diff_ids but manifest.json ${e.Layers.length} layers`)
    }
    const layers: Descriptor[] = loc.layers.map((p, j) => {
      const b = blobAt(p)
      const raw = e.Layers[j]!
      const want = diffIds[j] as Digest
      let got: Digest | undefined
      if (b.compression === 'none') got = b.digest
      else if (b.compression === 'gzip') {
        if (b.gzipError !== undefined) throw new IntegrityError(`${where}: image ${image}: layer ${raw} is not valid gzip: ${b.gzipError}`)
        got = b.uncompressed
      } else {
        log.warn(`${where}: image ${image}: layer ${raw} is zstd-compressed; its diff_id is not checked`)
      }
      if (got !== undefined && got !== want) {
        throw new IntegrityError(`${where}: image ${image}: layer ${raw} has diff_id ${got} but the config lists ${want}`)
      }
      const mediaType = b.compression === 'gzip' ? mediaTypes.ociLayerGzip : b.compression === 'zstd' ? mediaTypes.ociLayerZstd : mediaTypes.ociLayer
      return { mediaType, digest: b.digest, size: b.size }
    })
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: mediaTypes.ociManifest,
      config: { mediaType: mediaTypes.ociConfig, digest: configBlob.digest, size: configBlob.size },
      layers,
    }
    const stored = await store.putBlob(JSON.stringify(manifest))
    const platform: Platform | undefined = typeof config['architecture'] === 'string' && typeof config['os'] === 'string'
      ? { architecture: config['architecture'], os: config['os'], ...(typeof config['variant'] === 'string' ? { variant: config['variant'] } : {}) }
      : undefined
    const descriptor: Descriptor = { mediaType: mediaTypes.ociManifest, ...stored, ...(platform ? { platform } : {}) }
    if (refs.length === 0) out.push({ ref: undefined, descriptor })
    for (const ref of refs) out.push({ ref, descriptor })
  }
  return out
}

// ---------- export ----------

export interface ExportArchiveOptions {
  /** docker-archive: which variant of a multi-platform image to write (default linux/amd64). */
  platform?: Platform
}

type TarItem =
  | { name: string; kind: 'directory' }
  | { name: string; kind: 'data'; data: Buffer }
  | { name: string; kind: 'stream'; size: number; open: () => AsyncIterable<Buffer> }

/**
 * Writes stored images to an archive at `path`. docker-archive: manifest.json
 * (Config, RepoTags in familiar form, Layers), configs as <hex>.json, layers
 * as uncompressed <diff_id hex>.tar (gzip layers are decompressed on the way)
 * and a repositories file. oci-archive: a tar of an OCI image layout.
 */
export async function exportArchive(store: Store, refs: string[], path: string, format: ArchiveFormat, options: ExportArchiveOptions = {}): Promise<void> {
  const items = format === 'oci-archive' ? await ociArchiveItems(store, refs) : await dockerArchiveItems(store, refs, options.platform ?? { os: 'linux', architecture: 'amd64' })
  await writeTarFile(path, items)
}

async function ociArchiveItems(store: Store, refs: readonly string[]): Promise<TarItem[]> {
  const plan = await planOciLayout(store, refs)
  const items: TarItem[] = [
    { name: 'blobs', kind: 'directory' },
    { name: 'oci-layout', kind: 'data', data: Buffer.from(layoutFileJson) },
    { name: 'index.json', kind: 'data', data: Buffer.from(layoutIndexJson(plan)) },
  ]
  for (const alg of new Set(plan.blobs.map((b) => digestAlgorithm(b.digest)))) items.push({ name: `blobs/${alg}`, kind: 'directory' })
  for (const b of plan.blobs) {
    items.push({ name: `blobs/${digestAlgorithm(b.digest)}/${digestHex(b.digest)}`, kind: 'stream', size: b.size, open: () => openVerifiedBlob(store, b) })
  }
  return items
}

async function dockerArchiveItems(store: Store, refs: readonly string[], platform: Platform): Promise<TarItem[]> {
  const images = await resolveStored(store, refs)
  if (images.length === 0) throw new UserError('name at least one image to export')
  const files = new Map<string, TarItem>()
  const entries = new Map<string, { Config: string; RepoTags: string[]; Layers: string[] }>()
  const repositories: Record<string, Record<string, string>> = {}
  for (const { ref, descriptor } of images) {
    const chosen = await selectPlatform(store, descriptor, platform, ref)
    if (!isManifestMediaType(chosen.mediaType)) throw new UserError(`image ${ref}: ${chosen.mediaType} is not an image manifest`)
    const parsed = parseReference(ref)
    const repoTag = parsed.tag === undefined ? undefined : familiarReference({ ...parsed, digest: undefined })
    let entry = entries.get(chosen.digest)
    if (!entry) {
      entry = await dockerEntry(store, ref, chosen, files)
      entries.set(chosen.digest, entry)
    }
    if (repoTag !== undefined && !entry.RepoTags.includes(repoTag)) {
      entry.RepoTags.push(repoTag)
      const top = entry.Layers.at(-1)
      if (top !== undefined) {
        const name = familiarReference({ ...parsed, tag: undefined, digest: undefined })
        repositories[name] = { ...repositories[name], [parsed.tag!]: top.replace(/\.tar$/, '') }
      }
    }
  }
  const manifestJson = JSON.stringify([...entries.values()])
  const sortedRepositories = Object.fromEntries(Object.keys(repositories).sort().map((k) => [k, repositories[k]!]))
  return [
    ...files.values(),
    { name: 'manifest.json', kind: 'data', data: Buffer.from(manifestJson) },
    { name: 'repositories', kind: 'data', data: Buffer.from(JSON.stringify(sortedRepositories)) },
  ]
}

/** One manifest.json entry: adds its config and layers to `files`. */
async function dockerEntry(store: Store, ref: string, chosen: Descriptor, files: Map<string, TarItem>): Promise<{ Config: string; RepoTags: string[]; Layers: string[] }> {
  const manifest = await store.readJson<{ config?: unknown; layers?: unknown }>(chosen.digest)
  if (typeof manifest.config !== 'object' || !Array.isArray(manifest.layers)) {
    throw new IntegrityError(`image ${ref} (${chosen.digest}): manifest has no config or layers`)
  }
  const configDesc = checkDescriptor(manifest.config, `image ${ref}: manifest config`)
  const configData = await store.readBlob(configDesc.digest)
  const config = parseJsonDocument(configData, `image ${ref}: config ${configDesc.digest}`) as { rootfs?: { diff_ids?: unknown } }
  const diffIds = config.rootfs?.diff_ids
  if (!Array.isArray(diffIds) || diffIds.some((d) => typeof d !== 'string' || !isDigest(d))) {
    throw new IntegrityError(`image ${ref}: config ${configDesc.digest} has no valid rootfs.diff_ids`)
  }
  const layerDescs = manifest.layers.map((l, j) => checkDescriptor(l, `image ${ref}: manifest layers[${j}]`))
  if (diffIds.length !== layerDescs.length) {
    throw new IntegrityError(`image ${ref}: config lists ${diffIds.length} diff_ids but the manifest ${layerDescs.length} layers`)
  }
  const configName = `${digestHex(configDesc.digest)}.json`
  files.set(configName, { name: configName, kind: 'data', data: configData })
  const layers: string[] = []
  for (const [j, d] of layerDescs.entries()) {
    const diffId = diffIds[j] as Digest
    const name = `${digestHex(diffId)}.tar`
    layers.push(name)
    if (files.has(name)) continue
    if (!(await store.hasBlob(d.digest))) {
      throw new IntegrityError(`image ${ref}: layer ${d.digest} is missing from the store at ${store.root}; pull the image again`)
    }
    const compression = layerCompression(d.mediaType)
    if (compression === 'none') {
      if (d.digest !== diffId) throw new IntegrityError(`image ${ref}: uncompressed layer ${d.digest} does not match its diff_id ${diffId}`)
      files.set(name, { name, kind: 'stream', size: d.size, open: () => openVerifiedBlob(store, d) })
    } else if (compression === 'gzip') {
      // Tar headers come before the data: measure the decompressed layer first.
      const measured = await measureGunzip(store, d)
      if (measured.digest !== diffId) {
        throw new IntegrityError(`image ${ref}: layer ${d.digest} decompresses to ${measured.digest} but the config lists ${diffId}`)
      }
      files.set(name, { name, kind: 'stream', size: measured.size, open: () => gunzipVerified(store, d, diffId, measured.size) })
    } else {
      throw new UserError(`image ${ref}: layer ${d.digest} is ${d.mediaType}, which keel cannot write to a docker-archive (only plain and gzip layers)`)
    }
  }
  return { Config: configName, RepoTags: [], Layers: layers }
}

/** The decompressed bytes of a stored gzip blob, the compressed bytes verified on the way. */
async function* gunzipped(store: Store, d: Descriptor): AsyncGenerator<Buffer> {
  const gz = createGunzip()
  const done = pipeline(openVerifiedBlob(store, d), gz).then(() => undefined, (err: unknown) => err)
  try {
    for await (const chunk of gz as AsyncIterable<Buffer>) yield chunk
  } finally {
    gz.destroy()
  }
  const err = await done
  if (err) throw err instanceof IntegrityError ? err : new IntegrityError(`store blob ${d.digest} is not valid gzip: ${(err as Error).message}`)
}

async function measureGunzip(store: Store, d: Descriptor): Promise<{ digest: Digest; size: number }> {
  const hash = createHash('sha256')
  let size = 0
  for await (const chunk of gunzipped(store, d)) {
    hash.update(chunk)
    size += chunk.length
  }
  return { digest: `sha256:${hash.digest('hex')}`, size }
}

async function* gunzipVerified(store: Store, d: Descriptor, diffId: Digest, size: number): AsyncGenerator<Buffer> {
  const hash = createHash('sha256')
  let n = 0
  for await (const chunk of gunzipped(store, d)) {
    hash.update(chunk)
    n += chunk.length
    yield chunk
  }
  const got = `sha256:${hash.digest('hex')}`
  if (got !== diffId || n !== size) throw new IntegrityError(`store blob ${d.digest} changed while being exported`)
}

/** Writes a tar of `items` (sorted, fixed metadata) to a temp file beside `path`, then renames it. */
async function writeTarFile(path: string, items: TarItem[]): Promise<void> {
  const sorted = [...items].sort((a, b) => comparePaths(a.name, b.name))
  const tmp = tempPathFor(path)
  const fh = await open(tmp, 'wx', 0o644) // exclusive: never follows a symlink planted at the temp name
  const pack = tar.pack()
  const out = new Writable({
    write(chunk: Buffer, _enc, cb) {
      fh.write(chunk).then(() => cb(), cb)
    },
  })
  const writing = pipeline(Readable.from(pack as AsyncIterable<Buffer>), out)
  writing.catch(() => undefined) // awaited below; this keeps an early failure from going unhandled
  const mtime = new Date(0)
  try {
    for (const item of sorted) {
      const base = { name: item.name, mtime, uid: 0, gid: 0, uname: '', gname: '' }
      if (item.kind === 'directory') await addEntry(pack, { ...base, type: 'directory', mode: 0o755 })
      else if (item.kind === 'data') await addEntry(pack, { ...base, type: 'file', mode: 0o644, size: item.data.length }, item.data)
      else await addStreamEntry(pack, { ...base, type: 'file', mode: 0o644, size: item.size }, item.open())
    }
    pack.finalize()
    await writing
    await fh.sync()
    await fh.close()
    await rename(tmp, path)
  } catch (err) {
    pack.destroy(err as Error)
    await writing.catch(() => undefined)
    await fh.close().catch(() => undefined)
    await rm(tmp, { force: true })
    throw err
  }
}

function addEntry(pack: tar.Pack, header: TarHeader, data?: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const cb = (err?: Error | null): void => (err ? reject(err) : resolve())
    if (data) pack.entry(header, data, cb)
    else pack.entry(header, cb)
  })
}

async function addStreamEntry(pack: tar.Pack, header: TarHeader, source: AsyncIterable<Buffer>): Promise<void> {
  let finished!: Promise<void>
  const sink = (() => {
    let s: TarSink | undefined
    finished = new Promise((resolve, reject) => {
      s = pack.entry(header, (err) => (err ? reject(err) : resolve()))
    })
    return s!
  })()
  finished.catch(() => undefined) // a failure is reported by the throw below or by the pack
  sink.on('error', () => undefined)
  for await (const chunk of source) {
    if (!sink.write(chunk)) await new Promise<void>((resolve) => sink.once('drain', () => resolve()))
  }
  sink.end(null)
  await finished
}
