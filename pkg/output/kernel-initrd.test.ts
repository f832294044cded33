import t from 'tap'
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync, lstatSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { FsTree, memoryContent } from '../layers/index.js'
import { outputContext } from '../../test/helpers/output-context.js'
import { writeInitrd, writeKernelInitrd } from './kernel-initrd.js'
import { OutputSet } from './files.js'
import { treeToTar } from '../assemble/index.js'
import { encodeCpioHeader } from './cpio.js'

function sampleTree(): FsTree {
  const t = new FsTree()
  const root = { uid: 0, gid: 0 }
  t.set({ path: 'boot/kernel', type: 'file', mode: 0o644, ...root, content: memoryContent('KERNEL') }, 'test')
  t.set({ path: 'boot/cmdline', type: 'file', mode: 0o644, ...root, content: memoryContent('console=ttyS0') }, 'test')
  t.set({ path: 'init', type: 'file', mode: 0o755, ...root, content: memoryContent('#!/bin/sh\necho hi\n') }, 'test')
  t.set({ path: 'bin/sh', type: 'file', mode: 0o4755, uid: 0, gid: 0, content: memoryContent('shell') }, 'test')
  t.set({ path: 'bin/ash', type: 'link', mode: 0o4755, uid: 0, gid: 0, linkname: 'bin/sh', content: t.get('bin/sh')!.content! }, 'test')
  t.set({ path: 'etc/motd', type: 'symlink', mode: 0o777, uid: 0, gid: 0, linkname: '../init' }, 'test')
  t.set({ path: 'home/user', type: 'directory', mode: 0o700, uid: 1000, gid: 1000 }, 'test')
  t.set({ path: 'dev/null', type: 'char', mode: 0o666, uid: 0, gid: 0, devmajor: 1, devminor: 3 }, 'test')
  return t
}

t.test('kernel+initrd writes the three files, the initrd a cpio the real cpio tool reads', async (t) => {
  const dir = t.testdir()
  const files = await writeKernelInitrd(outputContext(sampleTree(), dir, 'x', 0))
  t.same(files.map((f) => f.slice(dir.length + 1)).sort(), ['x-cmdline', 'x-initrd.img', 'x-kernel'])
  t.equal(readFileSync(join(dir, 'x-kernel'), 'utf8'), 'KERNEL')
  t.equal(readFileSync(join(dir, 'x-cmdline'), 'utf8'), 'console=ttyS0')
  const cpio = gunzipSync(readFileSync(join(dir, 'x-initrd.img')))
  const listing = execFileSync('cpio', ['-itv', '--quiet', '--numeric-uid-gid'], { input: cpio }).toString().trim().split('\n')
  const names = listing.map((l) => l.replace(/ -> .*$/, '').split(/\s+/).pop())
  t.same(names, ['bin', 'bin/ash', 'bin/sh', 'dev', 'dev/console', 'dev/null', 'etc', 'etc/motd', 'home', 'home/user', 'init'],
    'sorted, boot/ left out, dev/console added')
  t.match(listing.find((l) => l.endsWith(' dev/console')), /^crw-------/)
  t.match(listing.find((l) => l.endsWith(' bin/sh')), /^-rwsr-xr-x/)
  t.match(listing.find((l) => l.endsWith(' home/user')), /^drwx------ +2 1000 +1000/)

  const out = t.testdir()
  execFileSync('cpio', ['-id', '--quiet', '--no-absolute-filenames'], { input: cpio, cwd: out })
  t.equal(readFileSync(join(out, 'bin/ash'), 'utf8'), 'shell', 'hardlink resolves to the data')
  t.equal(lstatSync(join(out, 'bin/ash')).ino, lstatSync(join(out, 'bin/sh')).ino, 'and is a real hardlink')
  t.equal(readlinkSync(join(out, 'etc/motd')), '../init')
  t.equal(readFileSync(join(out, 'init'), 'utf8'), '#!/bin/sh\necho hi\n')
})

t.test('the same tree gives the same bytes; SOURCE_DATE_EPOCH-style mtime lands in headers', async (t) => {
  const a = t.testdir()
  const b = t.testdir()
  await writeKernelInitrd(outputContext(sampleTree(), a, 'x', 0))
  await writeKernelInitrd(outputContext(sampleTree(), b, 'x', 0))
  t.ok(readFileSync(join(a, 'x-initrd.img')).equals(readFileSync(join(b, 'x-initrd.img'))))
  const c = t.testdir()
  await writeKernelInitrd(outputContext(sampleTree(), c, 'x', 1700000000))
  const listing = execFileSync('cpio', ['-itv', '--quiet'], { input: gunzipSync(readFileSync(join(c, 'x-initrd.img'))) }).toString()
  t.match(listing, /Nov 14\s+2023 init/)
})

t.test('a failure leaves no output files behind, and old outputs stay whole', async (t) => {
  const dir = t.testdir()
  writeFileSync(join(dir, 'x-initrd.img'), 'previous build')
  const tree = sampleTree()
  tree.remove('boot')
  await t.rejects(writeKernelInitrd(outputContext(tree, dir, 'x', 0)), /no kernel/)
  t.same(readdirSync(dir), ['x-initrd.img'])
  t.equal(readFileSync(join(dir, 'x-initrd.img'), 'utf8'), 'previous build')
})

t.test('an output path that is a symlink is replaced, not followed', async (t) => {
  const dir = t.testdir({ target: 'do not touch' })
  symlinkSync(join(dir, 'target'), join(dir, 'x-kernel'))
  await writeKernelInitrd(outputContext(sampleTree(), dir, 'x', 0))
  t.equal(readFileSync(join(dir, 'target'), 'utf8'), 'do not touch')
  t.notOk(lstatSync(join(dir, 'x-kernel')).isSymbolicLink())
})

t.test('cpio headers refuse values the format cannot hold', async (t) => {
  t.throws(() => encodeCpioHeader({ name: 'big', ino: 1, mode: 0o100644, uid: 0, gid: 0, nlink: 1, mtime: 0, size: 2 ** 33 }), /size .* does not fit/)
  const h = encodeCpioHeader({ name: 'a', ino: 1, mode: 0o100644, uid: 0, gid: 0, nlink: 1, mtime: 0, size: 0 })
  t.equal(h.length % 4, 0)
  t.equal(h.subarray(0, 6).toString(), '070701')
})

/**
 * Unpacks an initrd the way the kernel does (init/initramfs.c): archives one
 * after another; at each trailer the table of hard-link inodes is forgotten;
 * a regular file with nlink >= 2 whose inode is in the table becomes a link
 * to it, otherwise it is written (in place, when the name exists).
 */
function unpackLikeKernel(cpio: Buffer): { files: Map<string, { inode: number, data: string }>, archives: number } {
  const files = new Map<string, { inode: number, data: string }>()
  let links = new Map<number, string>()
  let archives = 0
  let inodes = 0
  let off = 0
  const field = (at: number, i: number): number => parseInt(cpio.subarray(at + 6 + i * 8, at + 14 + i * 8).toString('ascii'), 16)
  while (off < cpio.length) {
    if (cpio[off] === 0) { off++; continue }
    const ino = field(off, 0); const mode = field(off, 1); const nlink = field(off, 4); const size = field(off, 6); const namesize = field(off, 11)
    const name = cpio.subarray(off + 110, off + 110 + namesize - 1).toString()
    let data = off + 110 + namesize
    data += (4 - (data % 4)) % 4
    off = data + size + ((4 - ((data + size) % 4)) % 4)
    if (name === 'TRAILER!!!') { archives++; links = new Map(); continue }
    if ((mode & 0o170000) !== 0o100000) continue
    const linked = nlink >= 2 ? links.get(ino) : undefined
    if (linked !== undefined) { files.set(name, files.get(linked)!); continue }
    if (nlink >= 2) links.set(ino, name)
    const existing = files.get(name)
    const entry = existing ?? { inode: ++inodes, data: '' }
    entry.data = cpio.subarray(data, data + size).toString()
    files.set(name, entry)
  }
  return { files, archives }
}

/** Each gzip member of the file on its own (our members start with the same fixed header). */
function gzipMembers(buf: Buffer): Buffer[] {
  const starts: number[] = []
  const head = buf.subarray(0, 10)
  for (let i = buf.indexOf(head); i >= 0; i = buf.indexOf(head, i + 1)) starts.push(i)
  return starts.map((s, k) => buf.subarray(s, starts[k + 1] ?? buf.length)).filter((m) => {
    try { gunzipSync(m); return true } catch { return false }
  })
}

t.test('the initrd is cut into whole archives, one gzip member each; a hard link across a cut still links', async (t) => {
  const tree = new FsTree()
  const root = { uid: 0, gid: 0 }
  tree.set({ path: 'boot/kernel', type: 'file', mode: 0o644, ...root, content: memoryContent('KERNEL') }, 'test')
  tree.set({ path: 'a/big', type: 'file', mode: 0o755, ...root, content: memoryContent('x'.repeat(5000)) }, 'test')
  tree.set({ path: 'b/one', type: 'file', mode: 0o644, ...root, content: memoryContent('one') }, 'test')
  tree.set({ path: 'c/two', type: 'file', mode: 0o644, ...root, content: memoryContent('two') }, 'test')
  tree.set({ path: 'z/big-again', type: 'link', mode: 0o755, ...root, linkname: 'a/big', content: tree.get('a/big')!.content! }, 'test')
  tree.set({ path: 'z/big-third', type: 'link', mode: 0o755, ...root, linkname: 'a/big', content: tree.get('a/big')!.content! }, 'test')
  const write = async (opts: { pieceBytes?: number, retainBytes?: number }): Promise<Buffer> => {
    const dir = t.testdir()
    const set = new OutputSet()
    const f = await set.create(join(dir, 'initrd.img'))
    await writeInitrd(treeToTar(tree, 0), f, 0, opts)
    await set.commit()
    return readFileSync(join(dir, 'initrd.img'))
  }

  const cut = await write({ pieceBytes: 1024 })
  const members = gzipMembers(cut)
  t.ok(members.length >= 3, `several gzip members (${members.length})`)
  for (const m of members) t.match(gunzipSync(m).toString('latin1'), /TRAILER!!!\0*$/, 'each member is a whole archive')
  const { files, archives } = unpackLikeKernel(gunzipSync(cut))
  t.equal(archives, members.length, 'one archive per member')
  t.equal(files.get('z/big-again')!.data, 'x'.repeat(5000), 'the link has the data')
  t.equal(files.get('z/big-again')!.inode, files.get('a/big')!.inode, 'and is the same inode as its file')
  t.equal(files.get('z/big-third')!.inode, files.get('a/big')!.inode, 'so is the second link')
  t.equal(files.get('c/two')!.data, 'two')

  // Files are kept for re-sending up to a limit (here a/big's 5000 bytes);
  // past it, no more cuts are made.
  const limited = await write({ pieceBytes: 1024, retainBytes: 5000 })
  t.equal(gzipMembers(limited).length, 2, 'pieces stop once the kept data passes the limit')
  const l = unpackLikeKernel(gunzipSync(limited)).files
  t.equal(l.get('z/big-again')!.inode, l.get('a/big')!.inode, 'the link across the one cut still links')

  // The default: one archive for a small tree, same bytes every time.
  const whole = await write({})
  t.equal(gzipMembers(whole).length, 1)
  t.same(await write({}), whole, 'reproducible')

  // The negative control: the same unpacker on a cut stream whose link was
  // not preceded by its file again gives an empty, separate file.
  const broken = Buffer.concat([
    encodeCpioHeader({ name: 'f', ino: 7, mode: 0o100644, uid: 0, gid: 0, nlink: 2, mtime: 0, size: 4 }), Buffer.from('data'),
    encodeCpioHeader({ name: 'TRAILER!!!', ino: 0, mode: 0, uid: 0, gid: 0, nlink: 1, mtime: 0, size: 0 }),
    encodeCpioHeader({ name: 'g', ino: 7, mode: 0o100644, uid: 0, gid: 0, nlink: 2, mtime: 0, size: 0 }),
  ])
  const b = unpackLikeKernel(broken).files
  t.not(b.get('g')!.inode, b.get('f')!.inode, 'the check can fail')
})
