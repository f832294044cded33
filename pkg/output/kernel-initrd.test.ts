import t from 'tap'
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync, lstatSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { FsTree, memoryContent } from '../layers/index.js'
import { outputContext } from '../../test/helpers/output-context.js'
import { writeKernelInitrd } from './kernel-initrd.js'
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
