// The assembled tree → the tar stream every output format reads: entries in
// comparePaths order, one fixed mtime, numeric owners, no user/group names.
import { Readable } from 'node:stream'
import tar from 'tar-stream'
import type { FsTree, TreeEntry } from '../layers/index.js'

export function treeToTar(tree: FsTree, mtime: number): Readable {
  const pack = tar.pack()
  const date = new Date(mtime * 1000)
  const entries = tree.sorted()
  void (async () => {
    for (const e of entries) await writeEntry(pack, e, date)
    pack.finalize()
  })().catch((err: unknown) => pack.destroy(err as Error))
  return pack as unknown as Readable
}

function writeEntry(pack: tar.Pack, e: TreeEntry, mtime: Date): Promise<void> {
  const header = {
    name: e.path,
    mode: e.mode,
    uid: e.uid,
    gid: e.gid,
    uname: '',
    gname: '',
    mtime,
    type: tarType(e),
    ...(e.linkname === undefined ? {} : { linkname: e.linkname }),
    ...(e.devmajor === undefined ? {} : { devmajor: e.devmajor, devminor: e.devminor ?? 0 }),
    ...(e.xattrs ? { pax: Object.fromEntries(Object.entries(e.xattrs).map(([k, v]) => [`SCHILY.xattr.${k}`, v])) } : {}),
    size: e.type === 'file' ? (e.data?.length ?? 0) : 0,
  }
  return new Promise((resolve, reject) => {
    const cb = (err?: Error | null): void => (err ? reject(err) : resolve())
    if (e.type === 'file') pack.entry(header, e.data ?? Buffer.alloc(0), cb)
    else pack.entry(header, cb)
  })
}

function tarType(e: TreeEntry): 'file' | 'directory' | 'symlink' | 'link' | 'character-device' | 'block-device' | 'fifo' {
  switch (e.type) {
    case 'char': return 'character-device'
    case 'block': return 'block-device'
    default: return e.type
  }
}
