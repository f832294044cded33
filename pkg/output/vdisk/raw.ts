// Shared plumbing of the virtual-disk writers: checking options, reading the
// raw image in chunks (never whole), and writing the output through a
// temporary file that is renamed into place only when complete.
import { randomBytes } from 'node:crypto'
import { open, rename, rm, type FileHandle } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { UserError, wrapError } from '../../errors/index.js'
import { ContentDigest, UNIT } from './ids.js'

export interface VdiskOptions {
  /** Seconds since 1970 (SOURCE_DATE_EPOCH); the only source of timestamps in the output. */
  epoch: number
  /** Extra input for the deterministic IDs: images with equal content but different seeds get different IDs. */
  seed?: string
}

export const SECTOR = 512
export const KiB = 1024
export const MiB = 1024 * 1024
export const GiB = 1024 * MiB

export function checkOptions(o: VdiskOptions): void {
  if (!Number.isSafeInteger(o.epoch) || o.epoch < 0) {
    throw new UserError(`the epoch must be a whole number of seconds since 1970, not ${String(o.epoch)}`)
  }
  if (o.seed !== undefined && typeof o.seed !== 'string') throw new UserError('the ID seed must be a string')
}

export function roundUp(n: number, to: number): number {
  return Math.ceil(n / to) * to
}

/** An open raw image. */
export interface RawImage {
  fh: FileHandle
  path: string
  size: number
}

/** Opens the raw image, which must be a non-empty regular file and not the output. */
export async function openRaw(raw: string, out: string): Promise<RawImage> {
  if (resolve(raw) === resolve(out)) throw new UserError(`the output ${out} would overwrite the raw image it is made from`)
  let fh: FileHandle
  try {
    fh = await open(raw, 'r')
  } catch (err) {
    throw new UserError(`cannot open the raw disk image ${raw}: ${(err as Error).message}`, { cause: err })
  }
  try {
    const st = await fh.stat()
    if (!st.isFile()) throw new UserError(`the raw disk image ${raw} is not a regular file`)
    if (st.size === 0) throw new UserError(`the raw disk image ${raw} is empty`)
    return { fh, path: raw, size: st.size }
  } catch (err) {
    await fh.close()
    throw err
  }
}

/** One piece of the image as `scan` hands it out. */
export interface Chunk {
  /** `length` bytes of the image from `offset`; zeros past the end of the raw file. Reused: valid until the next chunk. */
  buf: Buffer
  offset: number
  /** Per 64 KiB unit of `buf`: whether it holds any non-zero byte. */
  nonZero: boolean[]
  /** Whether any unit holds data. */
  any: boolean
}

/**
 * Reads the image from 0 to `length` (which may pass the raw size: the rest
 * reads as zeros) in chunks of `chunkSize` bytes, a multiple of 64 KiB, feeding
 * every chunk into `digest`. Memory use is one chunk.
 */
export async function* scan(raw: RawImage, length: number, chunkSize: number, digest: ContentDigest): AsyncGenerator<Chunk> {
  if (chunkSize % UNIT !== 0 || length % chunkSize !== 0) throw new Error(`scan: bad chunking ${length}/${chunkSize}`)
  const buf = Buffer.alloc(chunkSize)
  const nonZero: boolean[] = []
  for (let offset = 0; offset < length; offset += chunkSize) {
    const want = Math.max(0, Math.min(chunkSize, raw.size - offset))
    let got = 0
    while (got < want) {
      const { bytesRead } = await raw.fh.read(buf, got, want - got, offset + got)
      if (bytesRead === 0) throw new Error(`the raw disk image ${raw.path} shrank while it was being read`)
      got += bytesRead
    }
    if (want < chunkSize) buf.fill(0, want)
    digest.update(buf, offset / UNIT, nonZero)
    yield { buf, offset, nonZero, any: nonZero.includes(true) }
  }
}

/**
 * Writes the units of `buf` that hold data to `fh` at `position`, merging
 * neighbours into one write. Zero units are skipped: the file is sized at the
 * end, so they read back as zeros (and stay holes on filesystems that have
 * them), which keeps the bytes identical and the output file sparse.
 */
export async function writeDataUnits(fh: FileHandle, buf: Buffer, nonZero: boolean[], position: number): Promise<void> {
  let start = -1
  for (let i = 0; i <= nonZero.length; i++) {
    if (i < nonZero.length && nonZero[i]) {
      if (start < 0) start = i
    } else if (start >= 0) {
      await writeAll(fh, buf.subarray(start * UNIT, i * UNIT), position + start * UNIT)
      start = -1
    }
  }
}

export async function writeAll(fh: FileHandle, data: Uint8Array, position: number): Promise<void> {
  let done = 0
  while (done < data.length) {
    const { bytesWritten } = await fh.write(data, done, data.length - done, position + done)
    done += bytesWritten
  }
}

/**
 * Creates `out` through a temporary file in the same folder (created
 * exclusively, so a planted symlink is never followed), synced and renamed
 * over `out` only when `fill` succeeds; on failure the temporary file is
 * removed and an existing `out` is left as it was. The writers use positional
 * writes (headers go in last, once the content digest is known), so they take
 * a path rather than a stream.
 */
export async function writeOutput(out: string, fill: (fh: FileHandle) => Promise<void>): Promise<void> {
  const tmp = join(dirname(out), `.${basename(out)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
  let fh: FileHandle
  try {
    fh = await open(tmp, 'wx', 0o644)
  } catch (err) {
    throw new UserError(`cannot create ${out}: ${(err as Error).message}`, { cause: err })
  }
  try {
    await fill(fh)
    await fh.sync()
    await fh.close()
    await rename(tmp, out)
  } catch (err) {
    await fh.close().catch(() => undefined)
    await rm(tmp, { force: true })
    throw wrapError(`writing ${out}`, err)
  }
}

/** Runs `fn` with the raw image open, closing it after. */
export async function withRaw<T>(raw: string, out: string, fn: (r: RawImage) => Promise<T>): Promise<T> {
  const r = await openRaw(raw, out)
  try {
    return await fn(r)
  } finally {
    await r.fh.close()
  }
}
