// The assembled tree → the tar stream every output format reads: entries in
// comparePaths order (a folder right before its contents), every mtime
// clamped to SOURCE_DATE_EPOCH (0 unless set), numeric owners, no user or
// group names — the same bytes for the same inputs.
import { Readable } from 'node:stream'
import tar from 'tar-stream'
import { contentSize, readContent, type FsTree, type TreeEntry } from '../layers/index.js'

export function treeToTar(tree: FsTree, epoch: number): Readable {
  const pack = tar.pack()
  const entries = tree.sorted()
  void (async () => {
    for (const e of entries) await writeEntry(pack, e, epoch)
    pack.finalize()
  })().catch((err: unknown) => pack.destroy(err as Error))
  return pack as unknown as Readable
}

async function writeEntry(pack: tar.Pack, e: TreeEntry, epoch: number): Promise<void> {
  const size = e.type === 'file' && e.content ? contentSize(e.content) : 0
  const header = {
    name: e.path,
    mode: e.mode,
    uid: e.uid,
    gid: e.gid,
    uname: '',
    gname: '',
    mtime: new Date(Math.min(e.mtime ?? epoch, epoch) * 1000),
    type: tarType(e),
    ...(e.linkname === undefined ? {} : { linkname: e.linkname }),
    ...(e.devmajor === undefined ? {} : { devmajor: e.devmajor, devminor: e.devminor ?? 0 }),
    ...(e.xattrs ? { pax: Object.fromEntries(Object.entries(e.xattrs).sort().map(([k, v]) => [`SCHILY.xattr.${k}`, v])) } : {}),
    size,
  }
  if (e.type !== 'file' || !e.content || size === 0) {
    // A file entry without a body is never finished by tar-stream (it waits
    // for data even when the size is 0): an empty file gets an empty body.
    await new Promise<void>((resolve, reject) => {
      if (e.type === 'file') pack.entry(header, Buffer.alloc(0), (err) => (err ? reject(err) : resolve()))
      else pack.entry(header, (err) => (err ? reject(err) : resolve()))
    })
    return
  }
  if (e.content.kind === 'memory') {
    const data = e.content.data
    await new Promise<void>((resolve, reject) => {
      pack.entry(header, data, (err) => (err ? reject(err) : resolve()))
    })
    return
  }
  const sink = pack.entry(header)
  const done = new Promise<void>((resolve, reject) => {
    sink.on('finish', () => resolve())
    sink.on('error', reject)
  })
  for await (const chunk of readContent(e.content)) {
    if (!sink.write(chunk)) await new Promise<void>((resolve) => sink.once('drain', () => resolve()))
  }
  sink.end(null)
  await done
}

function tarType(e: TreeEntry): 'file' | 'directory' | 'symlink' | 'link' | 'character-device' | 'block-device' | 'fifo' {
  switch (e.type) {
    case 'char': return 'character-device'
    case 'block': return 'block-device'
    default: return e.type
  }
}
