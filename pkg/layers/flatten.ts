// Image layers → one FsTree of metadata, in a single streaming pass per
// layer, never unpacked onto the host: the OCI layer rules (later layers win,
// ".wh.NAME" deletes NAME from lower layers, ".wh..wh..opq" empties a folder
// of what lower layers put there), every entry checked (paths, symlinked
// parents, hardlinks within the image, sizes, counts), each layer's
// uncompressed digest checked against the config's diff_ids. File contents
// go to a ContentStore.
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { Readable, Transform } from 'node:stream'
import { createGunzip } from 'node:zlib'
import { IntegrityError, UserError } from '../errors/index.js'
import { layerCompression, type ImageSource } from '../oci/index.js'
import { readTar, type TarLimits } from '../tar/index.js'
import type { ContentStore } from './content.js'
import { FsTree, normalizeEntryPath, type EntryType, type TreeEntry } from './tree.js'

export interface FlattenLimits extends TarLimits {
  /** Entries in all the layers of one image. */
  maxEntries: number
  /** Uncompressed bytes in all the layers of one image. */
  maxBytes: number
  /** Uncompressed/compressed beyond this, for layers over 64 MiB uncompressed, is a bomb. */
  maxRatio: number
}

export const flattenLimits: FlattenLimits = {
  maxEntries: 1_000_000,
  maxBytes: 32 * 1024 * 1024 * 1024,
  maxRatio: 1000,
  maxNameBytes: 4096,
  maxPaxBytes: 1024 * 1024,
  maxEntryBytes: 16 * 1024 * 1024 * 1024,
}

const whiteoutPrefix = '.wh.'
const opaqueMarker = '.wh..wh..opq'

export interface FlattenOptions {
  limits?: Partial<FlattenLimits>
  /** Keep the bytes of files at these paths (small package databases, for the SBOM). */
  capture?: (path: string, size: number) => boolean
}

export interface Flattened {
  tree: FsTree
  /** Final content of the captured paths that survived every layer. */
  captured: Map<string, Buffer>
}

export async function flattenImage(image: ImageSource, store: ContentStore, options: FlattenOptions = {}): Promise<Flattened> {
  const limits = { ...flattenLimits, ...options.limits }
  const tree = new FsTree()
  const captured = new Map<string, Buffer>()
  const diffIds = image.config.rootfs?.diff_ids ?? []
  if (diffIds.length !== image.layers.length) {
    throw new IntegrityError(`image ${image.ref} (${image.digest}): ${image.layers.length} layers but ${diffIds.length} diff_ids in its config`)
  }
  const budget = { entries: 0, bytes: 0 }
  for (const [i, layer] of image.layers.entries()) {
    const where = `image ${image.ref} (${image.digest}) layer ${i} (${layer.descriptor.digest})`
    const compression = layerCompression(layer.descriptor.mediaType)
    if (compression === undefined) throw new UserError(`${where}: unsupported layer media type ${layer.descriptor.mediaType}`)
    let compressed = 0
    const raw = layer.open()
    const counting = new Transform({ transform(c: Buffer, _e, cb) { compressed += c.length; cb(null, c) } })
    raw.on('error', (err) => counting.destroy(err))
    const plain = decompress(raw.pipe(counting), compression, where)
    const diffId = await applyLayer(tree, plain, where, {
      whiteouts: true, budget, limits, store, captured,
      ...(options.capture ? { capture: options.capture } : {}),
      compressedBytes: () => compressed,
    })
    if (diffId !== diffIds[i]) {
      throw new IntegrityError(`${where}: uncompressed content is ${diffId} but the image config says ${diffIds[i]}`)
    }
  }
  for (const path of [...captured.keys()]) {
    const e = tree.get(path)
    if (!e || e.type !== 'file') captured.delete(path)
  }
  return { tree, captured }
}

function decompress(stream: Readable, compression: 'none' | 'gzip' | 'zstd', where: string): Readable {
  if (compression === 'none') return stream
  if (compression === 'gzip') {
    // Large output chunks: at the default 16 KiB, a kernel layer is a
    // thousand round trips to the thread pool.
    const gunzip = createGunzip({ chunkSize: 256 * 1024 })
    stream.on('error', (err) => gunzip.destroy(err))
    return wrapErrors(stream.pipe(gunzip), where, 'gzip')
  }
  // Node 20 has no zstd: the zstd tool does it, as a stream. Its exit status
  // is checked before the end of its output counts as the end of the layer.
  const child = spawn('zstd', ['-dc', '-q'], { stdio: ['pipe', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  stream.pipe(child.stdin)
  child.stdin.on('error', () => undefined)
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', (err) => reject(new UserError(`${where}: zstd layers need the zstd tool (apt-get install zstd): ${err.message}`)))
    child.on('close', (code) => resolve(code))
  })
  exited.catch(() => undefined)
  const out = Readable.from((async function* () {
    try {
      for await (const c of child.stdout as AsyncIterable<Buffer>) yield c
      const code = await exited
      if (code !== 0) throw new IntegrityError(`${where}: not valid zstd data as its media type says: ${stderr.trim() || `zstd exited with ${code}`}`)
    } finally {
      if (child.exitCode === null) child.kill()
      stream.destroy()
    }
  })())
  stream.on('error', (err) => out.destroy(err))
  return out
}

function wrapErrors(s: Readable, where: string, what: string): Readable {
  const out = new Transform({ transform(c: Buffer, _e, cb) { cb(null, c) } })
  s.on('error', (err: NodeJS.ErrnoException) => {
    out.destroy(err.code?.startsWith('Z_') ? new IntegrityError(`${where}: not valid ${what} data as its media type says (${err.message})`) : err)
  })
  return s.pipe(out)
}

export interface ApplyOptions {
  /** Interpret .wh. entries as OCI whiteouts (true for image layers). */
  whiteouts: boolean
  /** Shared across the layers of one image, to bound the total. */
  budget?: { entries: number; bytes: number }
  limits?: FlattenLimits
  store: ContentStore
  capture?: (path: string, size: number) => boolean
  captured?: Map<string, Buffer>
  /** Compressed bytes read so far, for the ratio check. */
  compressedBytes?: () => number
}

/**
 * Reads one uncompressed tar stream into `tree`; returns the sha256 digest of
 * the stream (the layer's diff_id).
 */
export async function applyLayer(tree: FsTree, plain: Readable, where: string, options: ApplyOptions): Promise<string> {
  const limits = options.limits ?? flattenLimits
  const budget = options.budget ?? { entries: 0, bytes: 0 }
  const hash = createHash('sha256')
  let uncompressed = 0
  const checkRatio = (): void => {
    const packed = options.compressedBytes?.()
    if (packed !== undefined && uncompressed > 64 * 1024 * 1024 && uncompressed > packed * limits.maxRatio) {
      throw new UserError(`${where}: expands more than ${limits.maxRatio} times (a decompression bomb?)`)
    }
    if (budget.bytes + uncompressed > limits.maxBytes) throw new UserError(`${where}: more than ${limits.maxBytes} bytes uncompressed`)
  }
  const hashed = (async function* () {
    for await (const c of plain as AsyncIterable<Buffer>) {
      hash.update(c)
      uncompressed += c.length
      checkRatio()
      yield c
    }
  })()
  const addedHere = new Set<string>()
  try {
    await readEntries()
  } finally {
    // On an early failure, stop reading the layer (and close its file).
    plain.destroy()
  }
  budget.bytes += uncompressed
  return `sha256:${hash.digest('hex')}`

  async function readEntries(): Promise<void> {
  for await (const entry of readTar(hashed, limits)) {
    budget.entries++
    if (budget.entries > limits.maxEntries) throw new UserError(`${where}: more than ${limits.maxEntries} entries`)
    const h = entry.header
    const at = `${where}: entry ${JSON.stringify(h.name)}`
    const path = normalizeEntryPath(h.name, at)
    if (path === '') {
      // The root itself: only a folder may stand for it (a symlink named "." or "/" would redirect everything).
      if (h.type !== 'directory') throw new UserError(`${at}: a ${h.type} cannot replace the root`)
      await entry.skip()
      continue
    }
    const parts = path.split('/')
    const base = parts[parts.length - 1]!
    if (options.whiteouts && parts.slice(0, -1).some((p) => p.startsWith(whiteoutPrefix))) {
      throw new UserError(`${at}: an entry inside a whiteout`)
    }
    const dir = parts.slice(0, -1).join('/')
    if (options.whiteouts && base === opaqueMarker) {
      for (const p of tree.pathsUnder(dir)) if (!addedHere.has(p)) tree.remove(p)
      await entry.skip()
      continue
    }
    if (options.whiteouts && base.startsWith(whiteoutPrefix)) {
      const name = base.slice(whiteoutPrefix.length)
      if (name === '' || name === '.' || name === '..') throw new UserError(`${at}: malformed whiteout`)
      const target = dir === '' ? name : `${dir}/${name}`
      // A whiteout hides only what lower layers put there.
      if (!addedHere.has(target)) tree.remove(target)
      await entry.skip()
      continue
    }
    const type: EntryType = h.type
    const e: TreeEntry = { path, type, mode: h.mode, uid: h.uid, gid: h.gid, mtime: h.mtime }
    if (type === 'file') {
      if (options.capture?.(path, h.size)) {
        const parts2: Buffer[] = []
        for await (const c of entry.body()) parts2.push(c)
        const data = Buffer.concat(parts2)
        options.captured?.set(path, data)
        e.content = await options.store.putBuffer(data)
      } else {
        e.content = await options.store.put(entry.body(), h.size)
      }
    } else {
      await entry.skip()
    }
    if (type === 'symlink') {
      if (h.linkname === '') throw new UserError(`${at}: symlink without a target`)
      e.linkname = h.linkname
    }
    if (type === 'link') {
      const target = normalizeEntryPath(h.linkname, `${at} (hardlink target)`)
      const t = tree.get(target)
      if (!t || (t.type !== 'file' && t.type !== 'link')) throw new UserError(`${at}: hardlink to ${JSON.stringify(h.linkname)}, which is not a file in this image`)
      // Link to the file that holds the content, and share it.
      e.linkname = t.type === 'link' ? t.linkname! : target
      e.content = t.content!
    }
    if (type === 'char' || type === 'block') {
      e.devmajor = h.devmajor
      e.devminor = h.devminor
    }
    if (h.xattrs) e.xattrs = h.xattrs
    tree.set(e, at)
    addedHere.add(path)
  }
  }
}
