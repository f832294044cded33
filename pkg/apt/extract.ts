// Unpacking a .deb: the ar container, then the data.tar member, written into a
// directory tree. Nothing in the archive may reach outside that directory.
import {
  chmodSync, closeSync, createReadStream, createWriteStream, fchmodSync, linkSync, lstatSync, mkdirSync, openSync,
  readlinkSync, symlinkSync, unlinkSync, utimesSync, writeSync, type Stats,
} from 'node:fs'
import { mkdtemp, open, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGunzip } from 'node:zlib'
import { extract as tarExtract, type Header } from 'tar-stream'
import { IntegrityError, UserError, wrapError } from '../errors/index.js'
import type { ToolRunner } from '../exec/index.js'
import { decompressFile } from './decompress.js'

export interface ExtractedEntry {
  /** Relative, no leading slash, e.g. 'usr/bin/x'; the archive root itself is '.'. */
  path: string
  type: 'file' | 'directory' | 'symlink' | 'link' | 'char' | 'block' | 'fifo'
  /** Permission bits including setuid/setgid/sticky. */
  mode: number
  uid: number
  gid: number
  /** Symlink target as written in the archive; for hardlinks the normalised path of the target. */
  linkname?: string
  devmajor?: number
  devminor?: number
}

export interface ArMember {
  name: string
  /** Byte offset of the member's data in the file. */
  offset: number
  size: number
}

const AR_MAGIC = '!<arch>\n'

/** Lists the members of an ar archive. */
export async function readArMembers(path: string): Promise<ArMember[]> {
  const fh = await open(path, 'r')
  try {
    const { size: fileSize } = await fh.stat()
    const magic = Buffer.alloc(8)
    await fh.read(magic, 0, 8, 0)
    if (magic.toString('latin1') !== AR_MAGIC) throw new IntegrityError(`${path}: not a .deb (no ar header)`)
    const members: ArMember[] = []
    const hdr = Buffer.alloc(60)
    let off = 8
    while (off < fileSize) {
      if (off + 60 > fileSize) throw new IntegrityError(`${path}: truncated ar member header at byte ${off}`)
      await fh.read(hdr, 0, 60, off)
      if (hdr[58] !== 0x60 || hdr[59] !== 0x0a) throw new IntegrityError(`${path}: bad ar member header at byte ${off}`)
      const name = hdr.toString('latin1', 0, 16).trimEnd().replace(/\/$/, '')
      const sizeText = hdr.toString('latin1', 48, 58).trim()
      if (!/^\d+$/.test(sizeText)) throw new IntegrityError(`${path}: bad ar member size "${sizeText}" for "${name}"`)
      const size = Number(sizeText)
      const dataOff = off + 60
      if (dataOff + size > fileSize) throw new IntegrityError(`${path}: ar member "${name}" is truncated`)
      members.push({ name, offset: dataOff, size })
      off = dataOff + size + (size % 2)
    }
    return members
  } finally {
    await fh.close()
  }
}

async function readMember(path: string, m: ArMember): Promise<Buffer> {
  const fh = await open(path, 'r')
  try {
    const buf = Buffer.alloc(m.size)
    await fh.read(buf, 0, m.size, m.offset)
    return buf
  } finally {
    await fh.close()
  }
}

function memberStream(path: string, m: ArMember): Readable {
  return createReadStream(path, { start: m.offset, end: m.offset + m.size - 1, highWaterMark: 1 << 20 })
}

/**
 * Version of keel's unpacking rules. Part of the key of every cache built
 * from extraction (pkg/pkgbuild's step cache): bump it when what a .deb
 * unpacks to changes.
 */
export const extractorVersion = 2

/** How a .deb's data member is compressed: its name's suffix after "data.tar". */
export type DataCompression = '' | '.gz' | '.xz' | '.zst' | '.lzma'

/** A .deb's data.tar member, found and checked by findDebData. */
export interface DebData {
  member: ArMember
  compression: DataCompression
}

/**
 * Checks that `debPath` is a .deb keel can unpack (debian-binary first,
 * format 2.x, a non-empty data.tar member in a known compression) and
 * returns its data member.
 */
export async function findDebData(debPath: string): Promise<DebData> {
  const members = await readArMembers(debPath)
  const first = members[0]
  if (first === undefined || first.name !== 'debian-binary') {
    throw new IntegrityError(`${debPath}: not a .deb (first member is not debian-binary)`)
  }
  const formatVersion = (await readMember(debPath, first)).toString('latin1').trim()
  if (!/^2\.\d+$/.test(formatVersion)) {
    throw new UserError(`${debPath}: unsupported .deb format version "${formatVersion}" (only 2.x is supported)`)
  }
  const data = members.find((m) => m.name.startsWith('data.tar'))
  if (data === undefined) throw new IntegrityError(`${debPath}: no data.tar member`)
  const ext = data.name.slice('data.tar'.length)
  if (!['', '.gz', '.xz', '.zst', '.lzma'].includes(ext)) {
    throw new UserError(`${debPath}: unsupported data member compression "${data.name}"`)
  }
  if (data.size === 0) throw new IntegrityError(`${debPath}: empty ${data.name}`)
  return { member: data, compression: ext as DataCompression }
}

/**
 * Writes the uncompressed data.tar of a .deb to `output`. Scratch files are
 * made beside `output` (so in a folder the caller owns) and removed.
 */
export async function writeDebDataTar(debPath: string, data: DebData, output: string, opts: { runner: ToolRunner }): Promise<void> {
  const { member, compression } = data
  if (compression === '') {
    await pipeline(memberStream(debPath, member), createWriteStream(output, { flags: 'wx' }))
  } else if (compression === '.gz') {
    await pipeline(memberStream(debPath, member), createGunzip(), createWriteStream(output, { flags: 'wx' }))
  } else {
    // Named so that xz can decompress it in place into `output`.
    const packed = output + compression
    try {
      await pipeline(memberStream(debPath, member), createWriteStream(packed, { flags: 'wx' }))
      const kind = compression === '.zst' ? 'zstd' : compression === '.lzma' ? 'lzma' : 'xz'
      await decompressFile(opts.runner, kind, packed, output, output)
    } finally {
      await rm(packed, { force: true })
    }
  }
}

/**
 * Unpacks the data.tar of `debPath` into `destDir`. Directories, regular files
 * (with their mode bits, setuid included), symlinks and hardlinks are created;
 * device nodes and fifos are only listed. Files already in `destDir` are
 * replaced. Returns every entry of the archive in tar order.
 *
 * Symlinks already in the tree are followed as if `destDir` were the root
 * (an absolute target `/usr/lib` means `destDir/usr/lib`); a path that would
 * leave `destDir` (`..` components, a relative symlink climbing out, a hardlink
 * to outside) is refused with an IntegrityError.
 */
export async function extractDeb(debPath: string, destDir: string, opts: { runner: ToolRunner }): Promise<ExtractedEntry[]> {
  const data = await findDebData(debPath)
  // unpackDataTar makes destDir.
  if (data.compression === '') return unpackDataTar(memberStream(debPath, data.member), destDir, debPath)
  if (data.compression === '.gz') {
    const raw = memberStream(debPath, data.member)
    const gunzip = createGunzip()
    raw.on('error', (err) => gunzip.destroy(err))
    return unpackDataTar(raw.pipe(gunzip), destDir, debPath)
  }
  const tmp = await mkdtemp(join(tmpdir(), 'keel-deb-'))
  try {
    const tarPath = join(tmp, 'data.tar')
    await writeDebDataTar(debPath, data, tarPath, opts)
    return await unpackDataTar(createReadStream(tarPath, { highWaterMark: 1 << 20 }), destDir, debPath)
  } finally {
    await rm(tmp, { recursive: true, force: true })
  }
}

// Metadata operations below are synchronous on purpose: a kernel package has
// thousands of entries, and a thread-pool round trip per lstat/mkdir/chmod
// costs more than the work itself.
function lstatOrUndefined(p: string): Stats | undefined {
  try {
    return lstatSync(p)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined
    throw err
  }
}

class Escape extends Error {}

/** Splits an archive path into components; '..' is refused. */
function components(name: string, what = 'path'): string[] {
  const parts = name.split('/').filter((c) => c !== '' && c !== '.')
  if (parts.includes('..')) throw new Escape(`${what} "${name}" has a ".." component`)
  return parts
}

/**
 * Resolves `parts` below `root`, following symlinks found in the tree as if
 * `root` were `/`. Returns the real components (no symlinks among the existing
 * ones). The last component is followed only when `followLast`.
 */
function resolveInside(root: string, parts: string[], followLast: boolean): string[] {
  const stack: string[] = []
  const todo = [...parts]
  let hops = 0
  let existing = true
  while (todo.length > 0) {
    const c = todo.shift() as string
    if (c === '' || c === '.') continue
    if (c === '..') {
      if (stack.length === 0) throw new Escape('a symlink leads outside the destination')
      stack.pop()
      existing = true
      continue
    }
    if (!existing) {
      stack.push(c)
      continue
    }
    const st = lstatOrUndefined(join(root, ...stack, c))
    if (st === undefined) {
      existing = false
      stack.push(c)
      continue
    }
    if (st.isSymbolicLink() && (todo.length > 0 || followLast)) {
      if (++hops > 40) throw new Escape('too many levels of symlinks')
      const target = readlinkSync(join(root, ...stack, c))
      if (target.startsWith('/')) stack.length = 0
      todo.unshift(...target.split('/'))
      continue
    }
    if (todo.length > 0 && !st.isDirectory()) throw new Escape(`"${[...stack, c].join('/')}" is not a directory`)
    stack.push(c)
  }
  return stack
}

const typeMap: Record<string, ExtractedEntry['type']> = {
  'file': 'file',
  'contiguous-file': 'file',
  'directory': 'directory',
  'symlink': 'symlink',
  'link': 'link',
  'character-device': 'char',
  'block-device': 'block',
  'fifo': 'fifo',
}

/**
 * Unpacks an uncompressed tar stream (a .deb's data.tar) into `destDir` by
 * extractDeb's rules. `debPath` names the package in errors.
 */
export async function unpackDataTar(input: Readable, destDir: string, debPath: string): Promise<ExtractedEntry[]> {
  const root = resolve(destDir)
  mkdirSync(root, { recursive: true })
  const ex = tarExtract()
  input.on('error', (err) => ex.destroy(err))
  input.pipe(ex as unknown as NodeJS.WritableStream)
  const entries: ExtractedEntry[] = []
  const state: UnpackState = { dirModes: new Map(), realDirs: new Set() }
  try {
    for await (const entry of ex) {
      const h: Header = entry.header
      const what = `${debPath}: entry "${h.name}"`
      try {
        const e = await writeEntry(h, entry as unknown as AsyncIterable<Buffer>, root, state)
        entries.push(e)
      } catch (err) {
        if (err instanceof Escape) throw new IntegrityError(`${what}: refused: ${err.message}`)
        throw wrapError(what, err)
      } finally {
        // Drain whatever the entry did not consume so the next header can be read.
        entry.resume()
      }
    }
  } catch (err) {
    input.destroy()
    if (err instanceof IntegrityError || err instanceof UserError) throw err
    throw wrapError(`${debPath}: reading data.tar`, err)
  }
  // Directory modes last, so that a read-only directory does not block its own contents.
  for (const [dir, mode] of [...state.dirModes].reverse()) chmodSync(dir, mode)
  return entries
}

interface UnpackState {
  /** Real directory (absolute) → the mode its entry asks for, set once every entry is written. */
  dirModes: Map<string, number>
  /**
   * Relative paths known to be real directories (no symlink anywhere on the
   * way) in this unpacking: a parent found here needs no lookup. Entries are
   * never invalid later, as no entry may replace a directory.
   */
  realDirs: Set<string>
}

/** The absolute folder an entry's parent components lead to, created when missing. */
function parentDir(root: string, parents: string[], realDirs: Set<string>): string {
  const key = parents.join('/')
  if (parents.length === 0 || realDirs.has(key)) return join(root, key)
  const real = resolveInside(root, parents, true)
  const dir = join(root, ...real)
  mkdirSync(dir, { recursive: true })
  if (real.length === parents.length && real.every((c, i) => c === parents[i])) {
    for (let i = 1; i <= parents.length; i++) realDirs.add(parents.slice(0, i).join('/'))
  }
  return dir
}

async function writeEntry(h: Header, body: AsyncIterable<Buffer>, root: string, state: UnpackState): Promise<ExtractedEntry> {
  const { dirModes } = state
  const type = typeMap[h.type]
  if (type === undefined) throw new IntegrityError(`unsupported tar entry type "${h.type}"`)
  const parts = components(h.name)
  const mode = (h.mode ?? 0) & 0o7777
  const e: ExtractedEntry = { path: parts.length === 0 ? '.' : parts.join('/'), type, mode, uid: h.uid ?? 0, gid: h.gid ?? 0 }

  if (type === 'char' || type === 'block') {
    e.devmajor = h.devmajor ?? 0
    e.devminor = h.devminor ?? 0
  }
  if (type === 'char' || type === 'block' || type === 'fifo') return e

  if (parts.length === 0) {
    if (type !== 'directory') throw new IntegrityError(`a ${type} entry for the archive root`)
    return e
  }
  const name = parts[parts.length - 1] as string
  const parent = parentDir(root, parts.slice(0, -1), state.realDirs)
  const dest = join(parent, name)
  const old = lstatOrUndefined(dest)

  if (type === 'directory') {
    let real = dest
    if (old?.isSymbolicLink()) {
      // A symlink to a directory stays (as with bin -> usr/bin); any other symlink is replaced.
      const target = join(root, ...resolveInside(root, parts, true))
      if (lstatOrUndefined(target)?.isDirectory()) {
        real = target
      } else {
        unlinkSync(dest)
        mkdirSync(dest, { mode: 0o755 })
      }
    } else if (old === undefined) {
      mkdirSync(dest, { mode: 0o755 })
    } else if (!old.isDirectory()) {
      unlinkSync(dest)
      mkdirSync(dest, { mode: 0o755 })
    }
    dirModes.set(real, mode)
    return e
  }

  if (old?.isDirectory()) throw new UserError(`cannot replace directory ${dest} with a ${type}`)

  if (type === 'link') {
    const targetParts = components(h.linkname ?? '', 'hardlink target')
    if (targetParts.length === 0) throw new IntegrityError('hardlink without a target')
    e.linkname = targetParts.join('/')
    const target = join(root, ...resolveInside(root, targetParts, false))
    const tst = lstatOrUndefined(target)
    if (tst === undefined) throw new IntegrityError(`hardlink target "${e.linkname}" does not exist`)
    if (tst.isDirectory()) throw new IntegrityError(`hardlink target "${e.linkname}" is a directory`)
    if (target === dest) return e
    if (old !== undefined) unlinkSync(dest)
    linkSync(target, dest)
    return e
  }

  if (old !== undefined) unlinkSync(dest)
  if (type === 'symlink') {
    e.linkname = h.linkname ?? ''
    symlinkSync(e.linkname, dest)
    return e
  }

  // Regular file: 'wx' never follows a symlink planted at dest.
  const fd = openSync(dest, 'wx', 0o600)
  try {
    for await (const chunk of body) {
      let off = 0
      while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off)
    }
    fchmodSync(fd, mode)
  } finally {
    closeSync(fd)
  }
  if (h.mtime instanceof Date) utimesSync(dest, h.mtime, h.mtime)
  return e
}
