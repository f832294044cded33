// Packs a folder into a tar stream that is the same bytes every time:
// entries sorted, times fixed, owners numeric (0 unless told otherwise),
// hardlinks kept as links. Used for package images built on the host.
import { createReadStream } from 'node:fs'
import { lstat, readdir, readlink } from 'node:fs/promises'
import { join } from 'node:path'
import tar from 'tar-stream'

export type PackHeader = Partial<tar.Header> & { name: string }

export interface EntryOverride {
  uid?: number
  gid?: number
  mode?: number
}

/** An entry that exists only in the tar, not on disk (device nodes, fifos packed rootless). */
export interface ExtraEntry {
  path: string
  type: 'char' | 'block' | 'fifo' | 'directory'
  mode: number
  uid: number
  gid: number
  devmajor?: number
  devminor?: number
}

export interface PackOptions {
  /** Modification time for every entry, seconds since the epoch. */
  mtime: number
  /** Per-path owners and modes, keyed by relative path without leading slash. */
  overrides?: ReadonlyMap<string, EntryOverride>
  extras?: readonly ExtraEntry[]
}

interface WalkEntry {
  path: string
  abs: string
  kind: 'file' | 'directory' | 'symlink'
  mode: number
  size: number
  ino: string
  nlink: number
}

/** Lists `root` depth-first, every path relative, in comparePaths order. */
export async function walkSorted(root: string): Promise<WalkEntry[]> {
  const out: WalkEntry[] = []
  const visit = async (rel: string): Promise<void> => {
    const names = (await readdir(rel === '' ? root : join(root, rel))).sort(compareBytes)
    for (const name of names) {
      const path = rel === '' ? name : `${rel}/${name}`
      const abs = join(root, path)
      const st = await lstat(abs)
      const kind = st.isDirectory() ? 'directory' : st.isSymbolicLink() ? 'symlink' : st.isFile() ? 'file' : undefined
      if (kind === undefined) throw new Error(`${abs}: unsupported file type (only files, folders and symlinks can be packed)`)
      out.push({ path, abs, kind, mode: st.mode & 0o7777, size: st.size, ino: `${st.dev}:${st.ino}`, nlink: st.nlink })
      if (kind === 'directory') await visit(path)
    }
  }
  await visit('')
  return out
}

export function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b))
}

/**
 * The order of paths in every tar keel writes: component by component, each
 * compared byte-wise, so a folder comes right before its contents
 * ("a", "a/b", "a.txt") — the order of a sorted depth-first walk.
 */
export function comparePaths(a: string, b: string): number {
  const pa = a.split('/')
  const pb = b.split('/')
  const n = Math.min(pa.length, pb.length)
  for (let i = 0; i < n; i++) {
    const c = compareBytes(pa[i]!, pb[i]!)
    if (c !== 0) return c
  }
  return pa.length - pb.length
}

/** Returns a tar stream of `root`; start reading it to drive the packing. */
export function packDirectory(root: string, options: PackOptions): tar.Pack {
  const pack = tar.pack()
  void fill(pack, root, options).then(
    () => pack.finalize(),
    (err: unknown) => pack.destroy(err instanceof Error ? err : new Error(String(err))),
  )
  return pack
}

async function fill(pack: tar.Pack, root: string, options: PackOptions): Promise<void> {
  const entries = await walkSorted(root)
  const extras = [...(options.extras ?? [])].sort((a, b) => comparePaths(a.path, b.path))
  const mtime = new Date(options.mtime * 1000)
  const firstPathOfInode = new Map<string, string>()
  let e = 0
  let x = 0
  while (e < entries.length || x < extras.length) {
    const entry = entries[e]
    const extra = extras[x]
    if (extra && (!entry || comparePaths(extra.path, entry.path) < 0)) {
      x++
      await writeEntry(pack, {
        name: extra.path, type: extra.type === 'char' ? 'character-device' : extra.type === 'block' ? 'block-device' : extra.type, mode: extra.mode,
        uid: extra.uid, gid: extra.gid, mtime, devmajor: extra.devmajor ?? 0, devminor: extra.devminor ?? 0,
      })
      continue
    }
    if (!entry) break
    e++
    if (extra && extra.path === entry.path) x++ // the file on disk wins
    const o = options.overrides?.get(entry.path)
    const base = { name: entry.path, mode: o?.mode ?? entry.mode, uid: o?.uid ?? 0, gid: o?.gid ?? 0, mtime, uname: '', gname: '' }
    if (entry.kind === 'directory') {
      await writeEntry(pack, { ...base, type: 'directory' })
    } else if (entry.kind === 'symlink') {
      await writeEntry(pack, { ...base, type: 'symlink', linkname: await readlink(entry.abs) })
    } else {
      const first = entry.nlink > 1 ? firstPathOfInode.get(entry.ino) : undefined
      if (first !== undefined) {
        await writeEntry(pack, { ...base, type: 'link', linkname: first })
        continue
      }
      if (entry.nlink > 1) firstPathOfInode.set(entry.ino, entry.path)
      await writeFileEntry(pack, { ...base, type: 'file', size: entry.size }, entry.abs)
    }
  }
}

/** Writes one file's content as a tar entry, applying backpressure. */
export async function writeFileEntry(pack: tar.Pack, header: PackHeader, path: string): Promise<void> {
  const sink = pack.entry(header)
  const done = new Promise<void>((resolve, reject) => {
    sink.on('finish', () => resolve())
    sink.on('error', reject)
  })
  let written = 0
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    written += chunk.length
    if (written > (header.size ?? 0)) throw new Error(`${path}: grew while being packed`)
    if (!sink.write(chunk)) await new Promise<void>((resolve) => sink.once('drain', () => resolve()))
  }
  if (written !== header.size) throw new Error(`${path}: changed size while being packed`)
  sink.end(null)
  await done
}

function writeEntry(pack: tar.Pack, header: PackHeader): Promise<void> {
  return new Promise((resolve, reject) => {
    pack.entry(header, (err) => (err ? reject(err) : resolve()))
  })
}
