// Image layers → one FsTree, applying the OCI layer rules: later layers win,
// ".wh.NAME" deletes NAME from lower layers, ".wh..wh..opq" empties a folder
// of what lower layers put there. Each layer's uncompressed digest is checked
// against the config's diff_ids. (First cut: the tree is held in memory.)
import { createHash } from 'node:crypto'
import { Transform, type Readable } from 'node:stream'
import { createGunzip } from 'node:zlib'
import tar from 'tar-stream'
import { IntegrityError, UserError } from '../errors/index.js'
import { layerCompression, type ImageSource } from '../oci/index.js'
import { FsTree, normalizeEntryPath, type EntryType, type TreeEntry } from './tree.js'

export const flattenLimits = {
  maxEntries: 500_000,
  maxBytes: 8 * 1024 * 1024 * 1024,
}

const whiteoutPrefix = '.wh.'
const opaqueMarker = '.wh..wh..opq'

export async function flattenImage(image: ImageSource): Promise<FsTree> {
  const tree = new FsTree()
  const diffIds = image.config.rootfs?.diff_ids ?? []
  if (diffIds.length !== image.layers.length) {
    throw new IntegrityError(`image ${image.ref} (${image.digest}): ${image.layers.length} layers but ${diffIds.length} diff_ids in its config`)
  }
  const budget = { entries: 0, bytes: 0 }
  for (const [i, layer] of image.layers.entries()) {
    const where = `image ${image.ref} layer ${i} (${layer.descriptor.digest})`
    const compression = layerCompression(layer.descriptor.mediaType)
    if (compression === undefined) throw new UserError(`${where}: unsupported layer media type ${layer.descriptor.mediaType}`)
    if (compression === 'zstd') throw new UserError(`${where}: zstd layers are not supported yet`)
    const raw = layer.open()
    const plain: Readable = compression === 'gzip' ? raw.pipe(createGunzip()) : raw
    raw.on('error', (err) => plain.destroy(err))
    const diffId = await applyLayer(tree, plain, where, { whiteouts: true, budget })
    if (diffId !== diffIds[i]) {
      throw new IntegrityError(`${where}: uncompressed content is ${diffId} but the config says ${diffIds[i]}`)
    }
  }
  return tree
}

export interface ApplyOptions {
  /** Interpret .wh. entries as OCI whiteouts (true for image layers). */
  whiteouts: boolean
  /** Shared across the layers of one image, to bound the total. */
  budget?: { entries: number; bytes: number }
}

/**
 * Reads one uncompressed tar stream into `tree`; returns the sha256 digest of
 * the stream (the layer's diff_id).
 */
export async function applyLayer(tree: FsTree, plain: Readable, where: string, options: ApplyOptions): Promise<string> {
  const budget = options.budget ?? { entries: 0, bytes: 0 }
  const hash = createHash('sha256')
  const hasher = new Transform({ transform(chunk: Buffer, _e, cb) { hash.update(chunk); cb(null, chunk) } })
  const addedHere = new Set<string>()
  const extract = tar.extract()
  const reading = (async () => {
    for await (const entry of extract) {
      budget.entries++
      if (budget.entries > flattenLimits.maxEntries) throw new UserError(`${where}: more than ${flattenLimits.maxEntries} entries`)
      const h = entry.header
      const path = normalizeEntryPath(h.name, `${where}: entry ${JSON.stringify(h.name)}`)
      const chunks: Buffer[] = []
      for await (const c of entry) {
        budget.bytes += (c as Buffer).length
        if (budget.bytes > flattenLimits.maxBytes) throw new UserError(`${where}: more than ${flattenLimits.maxBytes} bytes of content`)
        chunks.push(c as Buffer)
      }
      if (path === '') continue
      const slash = path.lastIndexOf('/')
      const dir = slash < 0 ? '' : path.slice(0, slash)
      const base = path.slice(slash + 1)
      if (options.whiteouts && base === opaqueMarker) {
        for (const p of tree.pathsUnder(dir)) if (!addedHere.has(p)) tree.remove(p)
        continue
      }
      if (options.whiteouts && base.startsWith(whiteoutPrefix)) {
        if (base === whiteoutPrefix) throw new UserError(`${where}: malformed whiteout ${JSON.stringify(h.name)}`)
        tree.remove((dir === '' ? '' : `${dir}/`) + base.slice(whiteoutPrefix.length))
        continue
      }
      const type = entryType(h.type, where, h.name)
      const e: TreeEntry = { path, type, mode: h.mode & 0o7777, uid: h.uid, gid: h.gid }
      if (type === 'file') e.data = Buffer.concat(chunks)
      if (type === 'symlink') {
        if (!h.linkname) throw new UserError(`${where}: symlink ${JSON.stringify(h.name)} has no target`)
        e.linkname = h.linkname
      }
      if (type === 'link') {
        const target = normalizeEntryPath(h.linkname ?? '', `${where}: hardlink ${JSON.stringify(h.name)}`)
        const t = tree.get(target)
        if (!t || (t.type !== 'file' && t.type !== 'link')) throw new UserError(`${where}: hardlink ${JSON.stringify(h.name)} points at ${JSON.stringify(h.linkname)}, which is not a file in this image`)
        // Link to the file that holds the data, and share its buffer.
        e.linkname = t.type === 'link' ? t.linkname! : target
        e.data = t.data ?? Buffer.alloc(0)
      }
      if (type === 'char' || type === 'block') {
        e.devmajor = h.devmajor
        e.devminor = h.devminor
      }
      const xattrs = paxXattrs(h.pax)
      if (xattrs) e.xattrs = xattrs
      tree.set(e, `${where}: entry ${JSON.stringify(h.name)}`)
      addedHere.add(path)
    }
  })()
  plain.on('error', (err) => extract.destroy(err))
  plain.pipe(hasher).pipe(extract as unknown as NodeJS.WritableStream)
  await reading
  return `sha256:${hash.digest('hex')}`
}

function entryType(t: string | undefined, where: string, name: string): EntryType {
  switch (t) {
    case 'file':
    case 'contiguous-file':
      return 'file'
    case 'directory':
      return 'directory'
    case 'symlink':
      return 'symlink'
    case 'link':
      return 'link'
    case 'character-device':
      return 'char'
    case 'block-device':
      return 'block'
    case 'fifo':
      return 'fifo'
    default:
      throw new UserError(`${where}: entry ${JSON.stringify(name)} has unsupported type ${t}`)
  }
}

function paxXattrs(pax: unknown): Record<string, string> | undefined {
  if (!pax || typeof pax !== 'object') return undefined
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(pax as Record<string, string>)) {
    if (k.startsWith('SCHILY.xattr.')) out[k.slice('SCHILY.xattr.'.length)] = v
  }
  return Object.keys(out).length > 0 ? out : undefined
}
