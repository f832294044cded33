// Content-addressed caches of a package build's intermediate results, so that
// a rebuild of inputs seen before (`keel pkg build --force`, a changed build
// step over the same .debs) skips the work whose inputs have not changed:
//
//   deb-data    a .deb's data.tar, decompressed. Key: the .deb's SHA256, its
//               data member's name and keel's extractor version.
//   gzip-layer  a layer's gzip'd bytes. Key: the uncompressed layer's digest
//               (its diff_id) and every setting that shapes the compressed
//               bytes (level, window, memory level, strategy, zlib's version
//               and the platform zlib writes into the gzip header).
//
// Each result is a blob in the image store; a record, CACHE/steps/KIND/KEY.json,
// names it together with the inputs it was made from. Nothing is trusted on
// use: the record must name exactly the inputs asked for, the blob is hashed
// again, and a layer is decompressed and its diff_id checked. An entry that
// fails a check is reported and made again; it never reaches an image.
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createGunzip } from 'node:zlib'
import type { Logger } from '../log/index.js'
import { isDigest, type Digest } from '../oci/index.js'
import { tempPathFor, type BlobInfo, type Store } from '../store/index.js'

export type StepKind = 'deb-data' | 'gzip-layer'

/** What a cached result was made from: flat names and values. */
export type StepInputs = Readonly<Record<string, string | number>>

/** Version of the record format; part of every key. */
export const stepCacheVersion = 1

interface StepRecord {
  version: number
  kind: StepKind
  inputs: Record<string, string | number>
  blob: BlobInfo
}

/** The folder the records live in, under keel's cache folder. */
export function stepCacheDir(cacheDir: string): string {
  return join(cacheDir, 'steps')
}

/** Inputs in a fixed order, so equal inputs give equal keys. */
function canonical(inputs: StepInputs): Array<[string, string | number]> {
  return Object.entries(inputs).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
}

/** The key of a result: SHA256 of the record version, the kind and the inputs. */
export function stepKey(kind: StepKind, inputs: StepInputs): string {
  return createHash('sha256').update(JSON.stringify([stepCacheVersion, kind, canonical(inputs)])).digest('hex')
}

function sameInputs(a: StepInputs, b: StepInputs): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b))
}

export interface StepCacheStats {
  hits: number
  misses: number
  /** Entries that failed a check on use and were made again. */
  rejected: number
}

export class StepCache {
  readonly stats: Record<StepKind, StepCacheStats> = {
    'deb-data': { hits: 0, misses: 0, rejected: 0 },
    'gzip-layer': { hits: 0, misses: 0, rejected: 0 },
  }

  constructor(readonly dir: string, readonly store: Store, private readonly log: Logger) {}

  recordPath(kind: StepKind, inputs: StepInputs): string {
    return join(this.dir, kind, `${stepKey(kind, inputs)}.json`)
  }

  /**
   * The blob recorded for `inputs`, when the record names exactly these
   * inputs and the store has a blob of the recorded size, its content not
   * yet checked (reuse checks it).
   */
  async lookup(kind: StepKind, inputs: StepInputs): Promise<BlobInfo | undefined> {
    const path = this.recordPath(kind, inputs)
    let text: string
    try {
      text = await readFile(path, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.log.warn(`step cache: cannot read ${path}: ${(err as Error).message}`)
      return undefined
    }
    const problem = (why: string): undefined => {
      this.log.warn(`step cache: ${path}: ${why}; making it again`)
      this.stats[kind].rejected++
      return undefined
    }
    let record: StepRecord
    try {
      record = JSON.parse(text) as StepRecord
    } catch {
      return problem('not valid JSON')
    }
    if (record === null || typeof record !== 'object' || record.version !== stepCacheVersion || record.kind !== kind) return problem('not a record of this kind')
    if (typeof record.inputs !== 'object' || record.inputs === null || !sameInputs(record.inputs, inputs)) return problem('made from other inputs')
    const blob = record.blob
    if (typeof blob !== 'object' || blob === null || !isDigest(blob.digest) || !Number.isSafeInteger(blob.size) || blob.size < 0) return problem('no valid blob')
    if (!(await this.store.hasBlob(blob.digest, blob.size))) {
      // Removed by `keel cache clean` (or never finished): an ordinary miss.
      this.log.debug(`step cache: ${kind} ${blob.digest} is no longer in the store`)
      return undefined
    }
    return { digest: blob.digest, size: blob.size }
  }

  /** Records that `inputs` make `blob` (already in the store). A torn record reads as a miss. */
  async record(kind: StepKind, inputs: StepInputs, blob: BlobInfo): Promise<void> {
    const path = this.recordPath(kind, inputs)
    await mkdir(join(this.dir, kind), { recursive: true })
    const record: StepRecord = { version: stepCacheVersion, kind, inputs: Object.fromEntries(canonical(inputs)), blob: { digest: blob.digest, size: blob.size } }
    const tmp = tempPathFor(path)
    try {
      await writeFile(tmp, `${JSON.stringify(record, null, 2)}\n`, { flag: 'wx' })
      await rename(tmp, path)
    } catch (err) {
      await rm(tmp, { force: true })
      throw err
    }
  }

  /**
   * The blob recorded for `inputs`, once `check` finds nothing wrong with its
   * content (it returns why the blob is bad, or undefined): a hit, and the
   * blob gets a fresh mtime (so `keel cache clean` spares it for a while).
   * Otherwise undefined, a miss, after reporting a blob that failed its
   * check: the caller makes the result and records it.
   */
  async reuse(kind: StepKind, inputs: StepInputs, check: (blob: BlobInfo) => Promise<string | undefined>): Promise<BlobInfo | undefined> {
    const blob = await this.lookup(kind, inputs)
    if (blob !== undefined) {
      const why = await check(blob)
      if (why === undefined) {
        this.stats[kind].hits++
        await this.store.touchBlob(blob.digest)
        return blob
      }
      this.stats[kind].rejected++
      this.log.warn(`step cache: ${kind} blob ${blob.digest}: ${why}; making it again`)
    }
    this.stats[kind].misses++
    return undefined
  }

  /** One line for the debug log: hits and misses by kind. */
  summary(): string {
    return Object.entries(this.stats)
      .filter(([, s]) => s.hits + s.misses + s.rejected > 0)
      .map(([k, s]) => `${k} ${s.hits} hit(s), ${s.misses} miss(es)${s.rejected > 0 ? `, ${s.rejected} rejected` : ''}`)
      .join('; ')
  }
}

/** Whether a stored blob's bytes still hash to its digest and size. */
export async function verifyBlob(store: Store, blob: BlobInfo): Promise<boolean> {
  const hash = createHash('sha256')
  let size = 0
  try {
    for await (const chunk of createReadStream(store.blobPath(blob.digest), { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
      hash.update(chunk)
      size += chunk.length
    }
  } catch {
    return false
  }
  return size === blob.size && `sha256:${hash.digest('hex')}` === blob.digest
}

/**
 * Whether a stored gzip'd layer still hashes to its digest and size, and
 * decompresses to bytes whose digest is `diffId`.
 */
export async function verifyGzipLayer(store: Store, blob: BlobInfo, diffId: Digest): Promise<boolean> {
  const packed = createHash('sha256')
  const plain = createHash('sha256')
  let size = 0
  const gunzip = createGunzip({ chunkSize: 256 * 1024 })
  const source = createReadStream(store.blobPath(blob.digest), { highWaterMark: 1024 * 1024 })
  source.on('data', (chunk) => {
    packed.update(chunk as Buffer)
    size += chunk.length
  })
  source.on('error', (err) => gunzip.destroy(err))
  source.pipe(gunzip)
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) plain.update(chunk)
  } catch {
    return false
  }
  return size === blob.size && `sha256:${packed.digest('hex')}` === blob.digest && `sha256:${plain.digest('hex')}` === diffId
}
