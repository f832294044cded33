// A package image's one layer: the uncompressed tar is hashed (its diff_id)
// and held back (in memory, or a temporary file when large), then gzip'd into
// the store — unless the step cache has the gzip'd bytes of that exact tar,
// made with the same settings, which are then checked and reused.
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { open, rm, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { constants, createGzip } from 'node:zlib'
import type { Digest } from '../oci/index.js'
import { tempPathFor, type BlobInfo, type Store } from '../store/index.js'
import { verifyGzipLayer, type StepCache, type StepInputs } from './step-cache.js'

/** How layers are compressed. Changing any of these changes every layer digest. */
export const layerGzip = {
  level: 6,
  windowBits: 15,
  memLevel: 8,
  strategy: constants.Z_DEFAULT_STRATEGY,
} as const

/**
 * What a gzip'd layer is made from: the tar's digest and every setting that
 * shapes the compressed bytes. zlib's version is there because another
 * zlib may choose other matches at the same level; the platform because
 * zlib writes its OS code into the gzip header.
 */
export function gzipLayerInputs(diffId: Digest): StepInputs {
  return { diffId, ...layerGzip, zlib: process.versions.zlib, platform: process.platform }
}

/** Holds a stream's bytes to read them again: in memory up to `memoryBytes`, then in a file. */
class Spool {
  private chunks: Buffer[] = []
  private bytes = 0
  private file?: { path: string; fh: FileHandle }
  private pending: Buffer[] = []
  private pendingBytes = 0

  constructor(private readonly tmpDir: string, private readonly memoryBytes: number) {}

  async write(chunk: Buffer): Promise<void> {
    if (this.file === undefined) {
      if (this.bytes + chunk.length <= this.memoryBytes) {
        this.chunks.push(chunk)
        this.bytes += chunk.length
        return
      }
      const path = tempPathFor(join(this.tmpDir, 'layer.tar'))
      this.file = { path, fh: await open(path, 'wx', 0o600) }
      this.pending = this.chunks
      this.pendingBytes = this.bytes
      this.chunks = []
    }
    this.pending.push(chunk)
    this.pendingBytes += chunk.length
    if (this.pendingBytes >= 4 * 1024 * 1024) await this.flush()
  }

  private async flush(): Promise<void> {
    if (this.file === undefined || this.pending.length === 0) return
    await this.file.fh.writev(this.pending)
    this.pending = []
    this.pendingBytes = 0
  }

  /** Ends writing; the bytes can then be read with read(). */
  async end(): Promise<void> {
    await this.flush()
    await this.file?.fh.close()
  }

  read(): Readable {
    if (this.file !== undefined) return createReadStream(this.file.path, { highWaterMark: 1024 * 1024 })
    return Readable.from(this.chunks, { objectMode: false })
  }

  async dispose(): Promise<void> {
    this.chunks = []
    if (this.file !== undefined) {
      await this.file.fh.close().catch(() => undefined)
      await rm(this.file.path, { force: true })
    }
  }
}

export interface StoreLayerOptions {
  store: Store
  /** Reuse and record gzip'd layers; none: always compress. */
  cache?: StepCache
  /** Folder for a large layer's temporary copy. */
  tmpDir: string
  /** Bytes held in memory before spilling to a file (default 64 MiB). */
  memoryBytes?: number
}

/** Stores the gzip'd form of an uncompressed layer tar; returns the blob and the tar's digest (diff_id). */
export async function storeLayer(tar: AsyncIterable<Buffer>, opts: StoreLayerOptions): Promise<{ blob: BlobInfo; diffId: Digest }> {
  const { store, cache } = opts
  const spool = new Spool(opts.tmpDir, opts.memoryBytes ?? 64 * 1024 * 1024)
  try {
    const hash = createHash('sha256')
    for await (const chunk of tar) {
      hash.update(chunk)
      await spool.write(chunk)
    }
    await spool.end()
    const diffId: Digest = `sha256:${hash.digest('hex')}`
    const inputs = gzipLayerInputs(diffId)
    const found = await cache?.reuse('gzip-layer', inputs, async (blob) =>
      (await verifyGzipLayer(store, blob, diffId)) ? undefined : `does not match its digest or does not decompress to ${diffId}`)
    if (found !== undefined) return { blob: found, diffId }
    // 256 KiB chunks: fewer thread-pool round trips than the default 16 KiB; the same bytes.
    const source = spool.read()
    const gzip = createGzip({ ...layerGzip, chunkSize: 256 * 1024 })
    source.on('error', (err) => gzip.destroy(err))
    const blob = await store.putBlobStream(source.pipe(gzip))
    await cache?.record('gzip-layer', inputs, blob)
    return { blob, diffId }
  } finally {
    await spool.dispose()
  }
}
