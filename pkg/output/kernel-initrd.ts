// kernel+initrd: NAME-kernel, NAME-initrd.img (a gzip'd newc cpio of
// everything but boot/) and NAME-cmdline, as LinuxKit names them.
import { join } from 'node:path'
import { createReadStream } from 'node:fs'
import { link } from 'node:fs/promises'
import { pipeline } from 'node:stream/promises'
import { createGzip, type Gzip } from 'node:zlib'
import type { Readable } from 'node:stream'
import tar from 'tar-stream'
import { UserError } from '../errors/index.js'
import { comparePaths } from '../tar/index.js'
import { CpioWriter, S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFREG, type CpioHeader } from './cpio.js'
import { OutputSet, type OutputFile } from './files.js'
import type { BootFiles, OutputContext, OutputWriter } from './types.js'

/** Entries every initrd has even when no image gives them: the kernel opens /dev/console for init. */
const requiredEntries: CpioHeader[] = [
  { name: 'dev', ino: 0, mode: S_IFDIR | 0o755, uid: 0, gid: 0, nlink: 2, mtime: 0, size: 0 },
  { name: 'dev/console', ino: 0, mode: S_IFCHR | 0o600, uid: 0, gid: 0, nlink: 1, mtime: 0, size: 0, rdevmajor: 5, rdevminor: 1 },
]

export interface InitrdOptions {
  /** Only entries for which this is true go into the initrd (default: all). */
  keep?: (name: string) => boolean
  /** Files to add (regular, mode 0644, root-owned), by name without a leading slash. */
  extra?: ReadonlyArray<{ name: string, data: Buffer }>
  /** Tests only: where pieces are cut (default initrdPieceBytes), and how much file data is kept for hard links. */
  pieceBytes?: number
  retainBytes?: number
}

export interface InitrdParts {
  kernel: Buffer
  cmdline: Buffer
  ucode: Buffer | undefined
}

/**
 * The initrd is several complete cpio archives, one after another, each its
 * own gzip member, so that the members are compressed at the same time on
 * the thread pool. The kernel unpacks concatenated archives in turn, but it
 * starts over at each member (a file cut by a member boundary stays open and
 * /init then fails with ETXTBSY) and forgets hard-link inodes at each
 * trailer, so a piece ends only between entries, and a hard link whose file
 * is in an earlier piece is preceded by that file again (same name, same
 * inode number: the kernel rewrites the file in place and links to it).
 * Pieces are cut at fixed sizes, so the bytes are the same on every build.
 */
export const initrdPieceBytes = 2 * 1024 * 1024
/** Files are remembered for re-sending only up to this much data; after it, no more pieces are cut. */
export const initrdRetainBytes = 64 * 1024 * 1024

interface Piece {
  index: number
  cpio: CpioWriter
  gzip: Gzip
  compressed: Buffer[]
  done: Promise<void>
}

function startPiece(index: number): Piece {
  const gzip = createGzip({ level: 5, chunkSize: 256 * 1024 }) // level 5: 1% larger than 6, a third faster
  const compressed: Buffer[] = []
  gzip.on('data', (c: Buffer) => compressed.push(c))
  const done = new Promise<void>((resolve, reject) => {
    gzip.once('end', () => resolve())
    gzip.once('error', reject)
  })
  done.catch(() => undefined) // awaited later; an early error must not be unhandled
  return { index, cpio: new CpioWriter(gzip), gzip, compressed, done }
}

/** A regular file already written, kept so that a later hard link in another piece can send it again. */
interface Written {
  piece: number
  header: CpioHeader
  data: Buffer[]
}

/**
 * Reads the tar stream: boot/kernel, boot/cmdline and boot/ucode.cpio are
 * returned; everything else becomes a gzip'd newc cpio written to `initrd`
 * (with the microcode cpio in front, uncompressed, as the kernel expects).
 */
export async function writeInitrd(tarStream: Readable, initrd: OutputFile, mtime: number, opts: InitrdOptions = {}): Promise<InitrdParts> {
  const pieceBytes = opts.pieceBytes ?? initrdPieceBytes
  const retainBytes = opts.retainBytes ?? initrdRetainBytes
  let kernel: Buffer | undefined
  let cmdline: Buffer | undefined
  let ucode: Buffer | undefined
  // The body is compressed into buffer lists first, so the microcode (which
  // comes from the same stream) can be written ahead of it.
  const pieces: Piece[] = [startPiece(0)]
  let piece = pieces[0]!
  let splitting = true
  let retained = 0
  const written = new Map<string, Written>()
  let nextIno = 1
  const required: Array<{ header: CpioHeader, data?: Buffer }> = [
    ...requiredEntries.map((header) => ({ header })),
    ...(opts.extra ?? []).map(({ name, data }) => ({
      header: { name, ino: 0, mode: S_IFREG | 0o644, uid: 0, gid: 0, nlink: 1, mtime: 0, size: data.length }, data,
    })),
  ].sort((a, b) => comparePaths(a.header.name, b.header.name))
  const emitRequiredBefore = async (name: string | undefined): Promise<void> => {
    while (required.length > 0 && (name === undefined || comparePaths(required[0]!.header.name, name) <= 0)) {
      const r = required.shift()!
      if (r.header.name === name && r.data === undefined) continue // the image has its own
      if (r.header.name === name) throw new UserError(`the image has its own /${name}, which this output writes itself`)
      await piece.cpio.entry({ ...r.header, ino: nextIno++, mtime }, r.data)
    }
  }
  /** Between entries: a full piece is closed and the next one begun. */
  const maybeCut = async (): Promise<void> => {
    if (!splitting || piece.cpio.size < pieceBytes) return
    await piece.cpio.finish()
    piece.gzip.end()
    piece = startPiece(piece.index + 1)
    pieces.push(piece)
  }
  /** The file's data passes through to the cpio, and is kept while pieces are still being cut. */
  async function* keep(data: AsyncIterable<Buffer>, into: Buffer[]): AsyncGenerator<Buffer> {
    for await (const chunk of data) {
      into.push(chunk)
      yield chunk
    }
  }
  try {
    const extract = tar.extract()
    const reading = (async () => {
      for await (const entry of extract) {
        const h = entry.header
        const name = h.name.replace(/\/+$/, '')
        if (name === 'boot' || name.startsWith('boot/')) {
          const data = await collect(entry)
          if (name === 'boot/kernel') kernel = data
          else if (name === 'boot/cmdline') cmdline = data
          else if (name === 'boot/ucode.cpio') ucode = data
          continue
        }
        if (opts.keep && !opts.keep(name)) {
          entry.resume()
          continue
        }
        await emitRequiredBefore(name)
        const base = { name, uid: h.uid, gid: h.gid, mtime: Math.floor(h.mtime.getTime() / 1000), size: 0 }
        const perm = h.mode & 0o7777
        switch (h.type) {
          case 'file':
          case 'contiguous-file': {
            // nlink 2 makes the kernel remember this inode, so that a later
            // hardlink entry with the same inode number is linked to it.
            const header: CpioHeader = { ...base, ino: nextIno++, mode: S_IFREG | perm, nlink: 2, size: h.size }
            const file: Written = { piece: piece.index, header, data: [] }
            written.set(name, file)
            if (splitting) {
              await piece.cpio.entry(header, keep(entry as AsyncIterable<Buffer>, file.data))
              retained += h.size
              if (retained > retainBytes) splitting = false
            } else {
              await piece.cpio.entry(header, entry as AsyncIterable<Buffer>)
            }
            await maybeCut()
            continue
          }
          case 'link': {
            const target = (h.linkname ?? '').replace(/^\.?\//, '')
            const file = written.get(target)
            if (file === undefined) throw new UserError(`hardlink ${name} points at ${target}, which comes later or is not a file`)
            if (file.piece !== piece.index) {
              // Every file of an earlier piece was kept: pieces stop being
              // cut in the same step as files stop being kept.
              await piece.cpio.entry(file.header, Buffer.concat(file.data))
              file.piece = piece.index
            }
            await piece.cpio.entry({ ...base, ino: file.header.ino, mode: S_IFREG | perm, nlink: 2 })
            break
          }
          case 'directory':
            await piece.cpio.entry({ ...base, ino: nextIno++, mode: S_IFDIR | perm, nlink: 2 })
            break
          case 'symlink': {
            const target = Buffer.from(h.linkname ?? '')
            await piece.cpio.entry({ ...base, ino: nextIno++, mode: S_IFLNK | 0o777, nlink: 1, size: target.length }, target)
            break
          }
          case 'character-device':
          case 'block-device':
            await piece.cpio.entry({
              ...base, ino: nextIno++, mode: (h.type === 'block-device' ? S_IFBLK : S_IFCHR) | perm, nlink: 1,
              rdevmajor: h.devmajor ?? 0, rdevminor: h.devminor ?? 0,
            })
            break
          case 'fifo':
            await piece.cpio.entry({ ...base, ino: nextIno++, mode: S_IFIFO | perm, nlink: 1 })
            break
          default:
            throw new UserError(`entry ${name}: tar type ${h.type} cannot go into an initrd`)
        }
        entry.resume()
        await maybeCut()
      }
    })()
    tarStream.on('error', (err) => extract.destroy(err))
    tarStream.pipe(extract as unknown as NodeJS.WritableStream)
    await reading
    await emitRequiredBefore(undefined)
    await piece.cpio.finish()
    piece.gzip.end()
    await Promise.all(pieces.map((p) => p.done))
  } catch (err) {
    for (const p of pieces) p.gzip.destroy()
    tarStream.destroy()
    throw err
  }
  if (!kernel) throw new UserError('the image has no kernel (boot/kernel): this output needs a kernel: section')
  if (ucode) initrd.stream.write(ucode)
  for (const p of pieces) for (const c of p.compressed) initrd.stream.write(c)
  await initrd.close()
  return { kernel, cmdline: cmdline ?? Buffer.alloc(0), ucode }
}

/**
 * Makes the boot files once, from one tar stream, into `scratch`; the
 * returned function gives the same promise every time.
 */
export function bootFilesFrom(tarStream: () => Readable, scratch: () => Promise<string>, mtime: number): () => Promise<BootFiles> {
  let made: Promise<BootFiles> | undefined
  return () => {
    made ??= (async () => {
      const dir = await scratch()
      const set = new OutputSet()
      try {
        const initrd = await set.create(join(dir, 'initrd.img'))
        const parts = await writeInitrd(tarStream(), initrd, mtime)
        await set.writeFile(join(dir, 'kernel'), parts.kernel)
        await set.commit()
        return { kernel: join(dir, 'kernel'), initrd: join(dir, 'initrd.img'), cmdline: parts.cmdline.toString('utf8') }
      } catch (err) {
        await set.abort()
        throw err
      }
    })()
    return made
  }
}

/** Copies a file into an output set, as `final`. */
export async function copyInto(out: OutputSet, source: string, final: string): Promise<void> {
  // A hard link when the scratch file is on the same file system (it was
  // written and synced once already, and is only ever deleted, never
  // changed); a streamed, synced copy when it is not.
  const tmp = await out.reserve(final)
  try {
    await link(source, tmp)
    return
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'EMLINK' && code !== 'ENOTSUP') throw err
  }
  await out.forget(tmp)
  const f = await out.create(final)
  await pipeline(createReadStream(source), f.stream)
  await f.close()
}

/** kernel+initrd: NAME-kernel, NAME-initrd.img and NAME-cmdline, as LinuxKit names them. */
export const writeKernelInitrd: OutputWriter = async (ctx: OutputContext): Promise<string[]> => {
  const boot = await ctx.bootFiles()
  const out = new OutputSet()
  try {
    await copyInto(out, boot.kernel, join(ctx.dir, `${ctx.name}-kernel`))
    await copyInto(out, boot.initrd, join(ctx.dir, `${ctx.name}-initrd.img`))
    await out.writeFile(join(ctx.dir, `${ctx.name}-cmdline`), boot.cmdline)
    return await out.commit()
  } catch (err) {
    await out.abort()
    throw err
  }
}

async function collect(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const c of stream) chunks.push(c as Buffer)
  return Buffer.concat(chunks)
}
