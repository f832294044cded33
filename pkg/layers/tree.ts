// An in-memory file tree: what an image's layers flatten to, and what
// assembly builds the whole root filesystem in. Paths are relative, without a
// leading slash ("etc/hosts"); the root itself is not an entry.
import { UserError } from '../errors/index.js'
import { comparePaths } from '../tar/index.js'
import type { Content } from './content.js'

export type EntryType = 'file' | 'directory' | 'symlink' | 'link' | 'char' | 'block' | 'fifo'

export interface TreeEntry {
  path: string
  type: EntryType
  /** Permission bits, including setuid, setgid and sticky. */
  mode: number
  uid: number
  gid: number
  /** Symlink target, or for a hardlink the path (in this tree) it links to. */
  linkname?: string
  devmajor?: number
  devminor?: number
  /**
   * Content of a regular file. A hardlink carries its target's content too
   * (the same object), so it keeps its content if the target is later replaced.
   */
  content?: Content
  /** Modification time, seconds since the epoch (clamped when written out). */
  mtime?: number
  /** Extended attributes (PAX SCHILY.xattr.*). */
  xattrs?: Record<string, string>
}

export const limits = {
  maxPathBytes: 4096,
  maxDepth: 128,
}

/**
 * Normalises a path from a tar header: strips "./" and leading "/", and
 * refuses ".." components, empty names and oversize paths.
 */
export function normalizeEntryPath(raw: string, where: string): string {
  let p = raw
  while (p.startsWith('./')) p = p.slice(2)
  if (p.startsWith('/')) throw new UserError(`${where}: absolute path ${JSON.stringify(raw)} is not allowed in a layer`)
  if (p.includes('//')) throw new UserError(`${where}: path ${JSON.stringify(raw)} contains "//"`)
  p = p.replace(/\/+$/, '')
  if (p === '' || p === '.') return ''
  const parts = p.split('/')
  if (parts.some((c) => c === '..')) throw new UserError(`${where}: path ${JSON.stringify(raw)} has a ".." component`)
  if (parts.some((c) => c === '.')) throw new UserError(`${where}: path ${JSON.stringify(raw)} has a "." component`)
  if (Buffer.byteLength(p) > limits.maxPathBytes) throw new UserError(`${where}: path longer than ${limits.maxPathBytes} bytes`)
  if (parts.length > limits.maxDepth) throw new UserError(`${where}: path deeper than ${limits.maxDepth} levels`)
  return p
}

export class FsTree {
  private readonly entries = new Map<string, TreeEntry>()

  get size(): number {
    return this.entries.size
  }

  get(path: string): TreeEntry | undefined {
    return this.entries.get(path)
  }

  has(path: string): boolean {
    return this.entries.has(path)
  }

  /**
   * Adds or replaces an entry. A parent that is a symlink is refused: writing
   * through it could land outside the tree once it is unpacked somewhere.
   * A non-directory replacing a directory removes what was under it.
   */
  set(entry: TreeEntry, where: string): void {
    const parts = entry.path.split('/')
    for (let i = 1; i < parts.length; i++) {
      const parent = this.entries.get(parts.slice(0, i).join('/'))
      if (parent && parent.type !== 'directory') {
        throw new UserError(`${where}: ${JSON.stringify(entry.path)} would be written through ${parent.type} ${JSON.stringify(parent.path)}`)
      }
    }
    const existing = this.entries.get(entry.path)
    if (existing?.type === 'directory' && entry.type !== 'directory') this.removeUnder(entry.path)
    if (existing?.type === 'directory' && entry.type === 'directory') {
      this.entries.set(entry.path, { ...existing, ...entry })
      return
    }
    this.entries.set(entry.path, entry)
  }

  /** Removes `path` and everything under it. */
  remove(path: string): void {
    this.entries.delete(path)
    this.removeUnder(path)
  }

  /** Removes everything under `path` but not `path` itself. */
  removeUnder(path: string): void {
    const prefix = path === '' ? '' : `${path}/`
    for (const key of [...this.entries.keys()]) {
      if (key.startsWith(prefix) && key !== path) this.entries.delete(key)
    }
  }

  /** Every path under `path` (not included). */
  pathsUnder(path: string): string[] {
    const prefix = path === '' ? '' : `${path}/`
    return [...this.entries.keys()].filter((k) => k.startsWith(prefix) && k !== path)
  }

  /**
   * Every entry in tar order (comparePaths), with missing parent folders made
   * up (0755, root-owned) so that each folder comes before its contents.
   * Hardlinks are rearranged so that the first path of each set, in that
   * order, carries the data and the others link to it; a hardlink whose
   * target was replaced since becomes a file of its own.
   */
  sorted(): TreeEntry[] {
    const all = new Map(this.entries)
    for (const path of this.entries.keys()) {
      const parts = path.split('/')
      for (let i = 1; i < parts.length; i++) {
        const parent = parts.slice(0, i).join('/')
        if (!all.has(parent)) all.set(parent, { path: parent, type: 'directory', mode: 0o755, uid: 0, gid: 0 })
      }
    }
    const groups = new Map<string, string[]>()
    for (const e of all.values()) {
      if (e.type !== 'link') continue
      const target = e.linkname === undefined ? undefined : all.get(e.linkname)
      if (target && target.type === 'file' && target.content === e.content) {
        const g = groups.get(target.path) ?? [target.path]
        g.push(e.path)
        groups.set(target.path, g)
      } else {
        all.set(e.path, { ...e, type: 'file', linkname: undefined as never })
        delete all.get(e.path)!.linkname
      }
    }
    for (const members of groups.values()) {
      members.sort(comparePaths)
      const first = members[0]!
      for (const p of members) {
        const e = all.get(p)!
        if (p === first) {
          const { linkname: _drop, ...rest } = e
          all.set(p, { ...rest, type: 'file' })
        } else {
          all.set(p, { ...e, type: 'link', linkname: first })
        }
      }
    }
    return [...all.values()].sort((a, b) => comparePaths(a.path, b.path))
  }

  /** Copies every entry of `other` under `prefix` ("" for the root). */
  graft(other: FsTree, prefix: string, where: string): void {
    for (const e of other.sorted()) {
      const path = prefix === '' ? e.path : `${prefix}/${e.path}`
      const moved: TreeEntry = { ...e, path }
      if (e.type === 'link' && e.linkname !== undefined) moved.linkname = prefix === '' ? e.linkname : `${prefix}/${e.linkname}`
      this.set(moved, where)
    }
  }
}
