// keel's local image store: an OCI image layout (image-spec image-layout.md)
// under the cache folder. Blobs are content-addressed and verified when
// written; index.json names images by normalised reference and is updated
// under a lock so that two keel processes can share one store.
import { createHash } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { chmod, lstat, mkdir, open, readdir, readFile, rename, rm, stat, utimes } from 'node:fs/promises'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { Writable, type Readable } from 'node:stream'
import { IntegrityError, UserError } from '../errors/index.js'
import {
  digestHex, isDigest, mediaTypes, refNameAnnotation, sha256Digest,
  type Descriptor, type Digest, type ImageConfig, type ImageIndex, type ImageManifest, type ImageSource, type Platform,
} from '../oci/index.js'
import { imageSourceOf } from './source.js'
import { tempPathFor, writeFileAtomic } from './atomic.js'
import { withFileLock } from './lock.js'

const maxDocumentBytes = 4 * 1024 * 1024

export interface BlobInfo {
  digest: Digest
  size: number
}

export class Store {
  readonly root: string

  private constructor(root: string) {
    this.root = root
  }

  /** Opens (creating when needed) the OCI image layout at `root`. */
  static async open(root: string): Promise<Store> {
    await mkdir(join(root, 'blobs', 'sha256'), { recursive: true })
    const layoutFile = join(root, 'oci-layout')
    try {
      const layout = JSON.parse(await readFile(layoutFile, 'utf8')) as { imageLayoutVersion?: string }
      if (layout.imageLayoutVersion !== '1.0.0') {
        throw new UserError(`${layoutFile}: unsupported imageLayoutVersion ${JSON.stringify(layout.imageLayoutVersion)}`)
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
      await writeFileAtomic(layoutFile, '{"imageLayoutVersion":"1.0.0"}')
    }
    return new Store(root)
  }

  blobPath(digest: Digest): string {
    return join(this.root, 'blobs', digest.slice(0, digest.indexOf(':')), digestHex(digest))
  }

  /** Whether the blob is stored (and, given `size`, has that size). */
  async hasBlob(digest: Digest, size?: number): Promise<boolean> {
    try {
      const st = await stat(this.blobPath(digest))
      return size === undefined || st.size === size
    } catch {
      return false
    }
  }

  /** Stores bytes as a blob; returns their digest and size. */
  async putBlob(data: string | Uint8Array): Promise<BlobInfo> {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data
    const digest = sha256Digest(bytes)
    if (await this.hasBlob(digest)) {
      // A fresh mtime tells `keel cache clean` the blob is in use again (it spares recent blobs).
      await this.touchBlob(digest)
    } else {
      await writeFileAtomic(this.blobPath(digest), bytes, 0o444)
    }
    return { digest, size: bytes.length }
  }

  /**
   * Streams a blob into the store, hashing as it goes. When `expected` is given,
   * a mismatch in digest or size is refused and nothing is kept.
   */
  async putBlobStream(source: Readable, expected?: { digest: Digest; size?: number }): Promise<BlobInfo> {
    const tmp = tempPathFor(join(this.root, 'blobs', 'sha256', 'incoming'))
    const hash = createHash('sha256')
    let size = 0
    const fh = await open(tmp, 'wx', 0o444)
    const limit = expected?.size
    try {
      // Chunks are hashed as they pass and written in batches (writev), so a
      // large layer costs one pass over its bytes and few system calls.
      await pipeline(source, new Writable({
        highWaterMark: 1024 * 1024,
        writev(chunks, cb) {
          const buffers = chunks.map((c) => c.chunk as Buffer)
          for (const b of buffers) {
            hash.update(b)
            size += b.length
          }
          if (limit !== undefined && size > limit) {
            cb(new IntegrityError(`blob content is longer than its descriptor's ${limit} bytes (expected ${expected!.digest})`))
            return
          }
          fh.writev(buffers).then(() => cb(), cb)
        },
      }))
      // Layers are not fsynced one by one (that doubles the time of a pull):
      // a blob torn by a power cut is caught by its size when it is reused
      // (hasBlob with a size), by its diff_id when it is unpacked, and by
      // `keel cache verify`; documents and index.json are synced.
      await fh.close()
      const digest: Digest = `sha256:${hash.digest('hex')}`
      if (expected && (expected.digest !== digest || (expected.size !== undefined && expected.size !== size))) {
        throw new IntegrityError(
          `blob content does not match its descriptor: expected ${expected.digest} (${expected.size ?? '?'} bytes), got ${digest} (${size} bytes)`,
        )
      }
      await rename(tmp, this.blobPath(digest))
      return { digest, size }
    } catch (err) {
      await fh.close().catch(() => undefined)
      await rm(tmp, { force: true })
      throw err
    }
  }


  /** Reads a small blob (a manifest, index or config) and checks its digest. */
  async readBlob(digest: Digest): Promise<Buffer> {
    const path = this.blobPath(digest)
    let data: Buffer
    try {
      const st = await stat(path)
      if (st.size > maxDocumentBytes) throw new IntegrityError(`blob ${digest} is ${st.size} bytes, too large for a document`)
      data = await readFile(path)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new UserError(`blob ${digest} is not in the store at ${this.root}`)
      throw err
    }
    if (sha256Digest(data) !== digest) {
      throw new IntegrityError(`store blob ${path} does not match its digest ${digest}; run "keel cache verify"`)
    }
    return data
  }

  /** Opens a blob for streaming. Callers hashing the content should verify it. */
  openBlob(digest: Digest): Readable {
    return createReadStream(this.blobPath(digest), { highWaterMark: 1024 * 1024 })
  }

  async readJson<T>(digest: Digest): Promise<T> {
    const data = await this.readBlob(digest)
    try {
      return JSON.parse(data.toString('utf8')) as T
    } catch (err) {
      throw new IntegrityError(`blob ${digest} is not valid JSON`, { cause: err })
    }
  }

  async readIndex(): Promise<ImageIndex> {
    try {
      const index = JSON.parse(await readFile(join(this.root, 'index.json'), 'utf8')) as ImageIndex
      if (!Array.isArray(index.manifests)) throw new IntegrityError(`${join(this.root, 'index.json')}: no manifests list`)
      return index
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { schemaVersion: 2, mediaType: mediaTypes.ociIndex, manifests: [] }
      throw err
    }
  }

  /** The descriptor the store has for a normalised reference, if any. */
  async resolve(ref: string): Promise<Descriptor | undefined> {
    const index = await this.readIndex()
    return index.manifests.find((m) => m.annotations?.[refNameAnnotation] === ref)
  }

  /** Names `descriptor` by `ref` in index.json, replacing what the name pointed at. */
  async tag(ref: string, descriptor: Descriptor): Promise<void> {
    await withFileLock(join(this.root, 'index.json.lock'), async () => {
      const index = await this.readIndex()
      const manifests = index.manifests.filter((m) => m.annotations?.[refNameAnnotation] !== ref)
      manifests.push({ ...descriptor, annotations: { ...descriptor.annotations, [refNameAnnotation]: ref } })
      manifests.sort((a, b) => (a.annotations?.[refNameAnnotation] ?? '').localeCompare(b.annotations?.[refNameAnnotation] ?? ''))
      const next: ImageIndex = { schemaVersion: 2, mediaType: mediaTypes.ociIndex, manifests }
      await writeFileAtomic(join(this.root, 'index.json'), `${JSON.stringify(next, null, 2)}\n`)
    })
  }

  /** Stores an image (config + already-stored layers) and tags it. */
  async putImage(ref: string, config: ImageConfig, layers: Descriptor[], annotations?: Record<string, string>): Promise<Descriptor> {
    const configBlob = await this.putBlob(JSON.stringify(config))
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: mediaTypes.ociManifest,
      config: { mediaType: mediaTypes.ociConfig, ...configBlob },
      layers,
      ...(annotations ? { annotations } : {}),
    }
    const manifestBlob = await this.putBlob(JSON.stringify(manifest))
    const descriptor: Descriptor = {
      mediaType: mediaTypes.ociManifest,
      ...manifestBlob,
      platform: { architecture: config.architecture, os: config.os },
    }
    await this.tag(ref, descriptor)
    return descriptor
  }

  /** Opens a stored image for reading by assembly (an index resolved to `platform`). */
  async imageSource(ref: string, platform: Platform = { os: 'linux', architecture: 'amd64' }): Promise<ImageSource | undefined> {
    const top = await this.resolve(ref)
    return top ? imageSourceOf(this, ref, top, platform) : undefined
  }

  // --- Added for archive import/export and cache maintenance (archive.ts, maintenance.ts). ---

  /** Runs `fn` holding the lock that guards index.json (the one `tag` takes; not re-entrant). */
  async withIndexLock<T>(fn: () => Promise<T>): Promise<T> {
    return withFileLock(join(this.root, 'index.json.lock'), fn)
  }

  /** Names several descriptors at once, in one write of index.json: all land or none. */
  async tagAll(entries: ReadonlyArray<{ ref: string; descriptor: Descriptor }>): Promise<void> {
    if (entries.length === 0) return
    await this.withIndexLock(async () => {
      const index = await this.readIndex()
      const names = new Set(entries.map((e) => e.ref))
      const manifests = index.manifests.filter((m) => !names.has(m.annotations?.[refNameAnnotation] ?? ''))
      for (const { ref, descriptor } of entries) {
        if (manifests.some((m) => m.annotations?.[refNameAnnotation] === ref)) continue // first one wins
        manifests.push({ ...descriptor, annotations: { ...descriptor.annotations, [refNameAnnotation]: ref } })
      }
      await this.writeIndexLocked(manifests)
    })
  }

  /**
   * Removes names from index.json. Every name must be there: otherwise nothing
   * is removed and a UserError names the unknown ones. Returns the names removed.
   */
  async untag(refs: readonly string[]): Promise<string[]> {
    return this.withIndexLock(async () => {
      const index = await this.readIndex()
      const present = new Set(index.manifests.map((m) => m.annotations?.[refNameAnnotation]))
      const unknown = refs.filter((r) => !present.has(r))
      if (unknown.length > 0) {
        throw new UserError(`no image ${unknown.join(', ')} in the store at ${this.root}`, { hint: 'see the stored images with: keel cache ls' })
      }
      const drop = new Set(refs)
      await this.writeIndexLocked(index.manifests.filter((m) => !drop.has(m.annotations?.[refNameAnnotation] ?? '')))
      return [...drop]
    })
  }

  /**
   * Every file under blobs/<algorithm>/, with its digest when the name is a
   * valid one (`digest` undefined otherwise; temp files have `temp` set).
   * Files directly under blobs/ are listed with algorithm ''.
   */
  async listBlobFiles(): Promise<StoredBlobFile[]> {
    const out: StoredBlobFile[] = []
    const blobsDir = join(this.root, 'blobs')
    const entry = async (path: string, algorithm: string, name: string): Promise<void> => {
      let st
      try {
        st = await lstat(path)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return // removed meanwhile
        throw err
      }
      const raw = `${algorithm}:${name}`
      out.push({
        path, algorithm, name,
        digest: algorithm !== '' && isDigest(raw) ? raw : undefined,
        temp: name.startsWith('.') && name.endsWith('.tmp'),
        regular: st.isFile(),
        size: st.size,
        mtimeMs: st.mtimeMs,
      })
    }
    for (const algorithm of (await readdir(blobsDir)).sort()) {
      const dir = join(blobsDir, algorithm)
      let st
      try {
        st = await lstat(dir)
      } catch {
        continue
      }
      if (!st.isDirectory()) {
        await entry(dir, '', algorithm)
        continue
      }
      for (const name of (await readdir(dir)).sort()) await entry(join(dir, name), algorithm, name)
    }
    return out
  }

  /** Deletes a blob file; returns its size, or 0 when it was not there. */
  async deleteBlob(digest: Digest): Promise<number> {
    if (!isDigest(digest)) throw new UserError(`malformed digest ${JSON.stringify(digest)}`)
    const path = this.blobPath(digest)
    try {
      const st = await lstat(path)
      await rm(path, { force: true })
      return st.size
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0
      throw err
    }
  }

  /**
   * Moves the file at `path` into the store as a blob (renamed when it is on
   * the store's file system, else copied and removed); returns its digest
   * and size. The file must not change meanwhile. A stored blob of that
   * digest is replaced: its bytes may have gone bad, these were just hashed.
   */
  async putBlobFile(path: string): Promise<BlobInfo> {
    const hash = createHash('sha256')
    let size = 0
    for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
      hash.update(chunk)
      size += chunk.length
    }
    const digest: Digest = `sha256:${hash.digest('hex')}`
    const target = this.blobPath(digest)
    const tmp = tempPathFor(join(this.root, 'blobs', 'sha256', 'incoming'))
    try {
      await rename(path, tmp)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err
      await pipeline(createReadStream(path), createWriteStream(tmp, { flags: 'wx' }))
      await rm(path, { force: true })
    }
    try {
      await chmod(tmp, 0o444)
      await rename(tmp, target)
    } catch (err) {
      await rm(tmp, { force: true })
      throw err
    }
    return { digest, size }
  }

  /** Gives a blob a fresh mtime, so `keel cache clean` spares it for its grace period. */
  async touchBlob(digest: Digest): Promise<void> {
    const now = new Date()
    await utimes(this.blobPath(digest), now, now).catch(() => undefined)
  }

  /** Writes index.json; the caller holds the index lock. Entries sorted by name as `tag` does. */
  private async writeIndexLocked(manifests: Descriptor[]): Promise<void> {
    const sorted = [...manifests].sort((a, b) => (a.annotations?.[refNameAnnotation] ?? '').localeCompare(b.annotations?.[refNameAnnotation] ?? ''))
    const next: ImageIndex = { schemaVersion: 2, mediaType: mediaTypes.ociIndex, manifests: sorted }
    await writeFileAtomic(join(this.root, 'index.json'), `${JSON.stringify(next, null, 2)}\n`)
  }
}

/** A file in the store's blobs folder, as `Store.listBlobFiles` reports it. */
export interface StoredBlobFile {
  path: string
  /** The folder under blobs/ ("sha256"), or '' for a file directly in blobs/. */
  algorithm: string
  name: string
  /** `algorithm:name` when that is a valid digest. */
  digest: Digest | undefined
  /** A temporary file of an unfinished write (".name.pid.random.tmp"). */
  temp: boolean
  regular: boolean
  size: number
  mtimeMs: number
}
