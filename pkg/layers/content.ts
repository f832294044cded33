// Where the bytes of an assembled file live while the output is written:
// small files in memory (up to a budget), the rest spilled to a private
// temporary folder as opaque, content-addressed files — never unpacked as a
// tree onto the host, so no path, link or owner in an image touches it.
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdir, mkdtemp, open, rename, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'

export type Content =
  | { kind: 'memory'; data: Buffer }
  | { kind: 'spill'; path: string; size: number }
  /** Bytes that live elsewhere already (a blob in the image store), read when written out. */
  | { kind: 'external'; size: number; open: () => AsyncIterable<Buffer> }

export function memoryContent(data: Buffer | string): Content {
  return { kind: 'memory', data: typeof data === 'string' ? Buffer.from(data) : data }
}

export function contentSize(c: Content): number {
  return c.kind === 'memory' ? c.data.length : c.size
}

export function externalContent(size: number, open: () => AsyncIterable<Buffer>): Content {
  return { kind: 'external', size, open }
}

export interface ContentStoreOptions {
  /** Files at most this big stay in memory... */
  memoryFileBytes?: number
  /** ...while the memory they take stays under this. */
  memoryBudgetBytes?: number
}

export class ContentStore {
  readonly dir: string
  private memoryUsed = 0
  private readonly memoryFileBytes: number
  private readonly memoryBudgetBytes: number

  private constructor(dir: string, options: ContentStoreOptions) {
    this.dir = dir
    this.memoryFileBytes = options.memoryFileBytes ?? 64 * 1024
    this.memoryBudgetBytes = options.memoryBudgetBytes ?? 128 * 1024 * 1024
  }

  /** A store in a new folder under `parent` (created when missing); call dispose() when done. */
  static async create(parent: string, options: ContentStoreOptions = {}): Promise<ContentStore> {
    await mkdir(parent, { recursive: true })
    return new ContentStore(await mkdtemp(join(parent, 'content-')), options)
  }

  /** Takes exactly `size` bytes from `body` (the caller has checked the size). */
  async put(body: AsyncIterable<Buffer>, size: number): Promise<Content> {
    if (size <= this.memoryFileBytes && this.memoryUsed + size <= this.memoryBudgetBytes) {
      const parts: Buffer[] = []
      let got = 0
      for await (const c of body) {
        parts.push(c)
        got += c.length
      }
      if (got !== size) throw new Error(`content: expected ${size} bytes, got ${got}`)
      this.memoryUsed += size
      // A copy: the chunks may be views into a larger buffer that would otherwise stay alive.
      return { kind: 'memory', data: Buffer.from(Buffer.concat(parts, got)) }
    }
    const tmp = join(this.dir, `.in-${randomBytes(8).toString('hex')}`)
    const hash = createHash('sha256')
    const fh = await open(tmp, 'wx', 0o600)
    let got = 0
    try {
      let batch: Buffer[] = []
      let batchBytes = 0
      for await (const c of body) {
        hash.update(c)
        got += c.length
        batch.push(c)
        batchBytes += c.length
        if (batchBytes >= 1024 * 1024) {
          await fh.writev(batch)
          batch = []
          batchBytes = 0
        }
      }
      if (batch.length > 0) await fh.writev(batch)
    } finally {
      await fh.close()
    }
    if (got !== size) {
      await rm(tmp, { force: true })
      throw new Error(`content: expected ${size} bytes, got ${got}`)
    }
    // Content-addressed: the same bytes from two layers or images are kept once.
    const path = join(this.dir, hash.digest('hex'))
    try {
      await stat(path)
      await rm(tmp, { force: true })
    } catch {
      await rename(tmp, path)
    }
    return { kind: 'spill', path, size }
  }

  async putBuffer(data: Buffer): Promise<Content> {
    return this.put((async function* () { yield data })(), data.length)
  }

  async dispose(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true })
  }
}

/** The bytes of a content, chunk by chunk. */
export async function* readContent(c: Content): AsyncGenerator<Buffer> {
  if (c.kind === 'memory') {
    if (c.data.length > 0) yield c.data
    return
  }
  if (c.kind === 'external') {
    let got = 0
    for await (const chunk of c.open()) {
      got += chunk.length
      if (got > c.size) throw new Error(`content is longer than its ${c.size} bytes`)
      yield chunk
    }
    if (got !== c.size) throw new Error(`content is ${got} bytes, not ${c.size}`)
    return
  }
  for await (const chunk of createReadStream(c.path, { highWaterMark: 1024 * 1024 })) yield chunk as Buffer
}

export async function contentBuffer(c: Content): Promise<Buffer> {
  if (c.kind === 'memory') return c.data
  const parts: Buffer[] = []
  for await (const chunk of readContent(c)) parts.push(chunk)
  return Buffer.concat(parts)
}
