import t from 'tap'
import { FsTree, memoryContent, type TreeEntry } from '../layers/index.js'
import { measureTree } from './sizes.js'

function treeOf(files: Record<string, number>, extra: TreeEntry[] = []): FsTree {
  const tree = new FsTree()
  for (const [path, size] of Object.entries(files)) {
    tree.set({ path, type: 'file', mode: 0o644, uid: 0, gid: 0, content: memoryContent(Buffer.alloc(size)) }, 'test')
  }
  for (const e of extra) tree.set(e, 'test')
  return tree
}

t.test('each path counts towards the part assembly put it in', async (t) => {
  const tree = treeOf({
    'boot/kernel': 1000,
    'boot/cmdline': 13,
    'lib/modules/6.1.0/kernel/virtio.ko': 300,
    'lib/modules/6.1.0/modules.dep': 20,
    init: 200,
    'usr/bin/keelctl': 5,
    'containers/onboot/000-format/config.json': 10,
    'containers/onboot/000-format/rootfs/bin/mkfs': 90,
    'containers/onboot/001-mount/rootfs/bin/mount': 40,
    'containers/onshutdown/000-save/rootfs/x': 7,
    'containers/services/web/rootfs/bin/httpd': 500,
    'containers/services/db/rootfs/bin/db': 400,
    'containers/volumes/data/lower/seed': 30,
    'etc/motd': 11,
    'etc/ssh/a': 1,
    'etc/ssh/b': 2,
  })
  t.same(measureTree(tree, ['/etc/motd', 'etc/ssh/']).map((p) => [p.label, p.bytes, p.files, p.name]), [
    ['kernel', 1000, 1, undefined],
    ['kernel modules', 320, 2, undefined],
    ['init', 205, 2, undefined],
    ['onboot format', 100, 2, 'format'],
    ['onboot mount', 40, 1, 'mount'],
    ['onshutdown save', 7, 1, 'save'],
    ['service db', 400, 1, 'db'],
    ['service web', 500, 1, 'web'],
    ['volume data', 30, 1, 'data'],
    ['files:', 14, 3, undefined],
    ['other (boot/cmdline, microcode)', 13, 1, undefined],
  ])
})

t.test('a hard link counts once; folders, symlinks and devices count nothing', async (t) => {
  const tree = treeOf({ 'bin/busybox': 1000 }, [
    { path: 'bin/sh', type: 'link', linkname: 'bin/busybox', mode: 0o755, uid: 0, gid: 0, content: undefined as never },
    { path: 'bin/ls', type: 'symlink', linkname: 'busybox', mode: 0o777, uid: 0, gid: 0 },
    { path: 'dev/null', type: 'char', devmajor: 1, devminor: 3, mode: 0o666, uid: 0, gid: 0 },
    { path: 'var/empty', type: 'directory', mode: 0o755, uid: 0, gid: 0 },
  ])
  // A hardlink carries its target's content object (tree.ts).
  tree.get('bin/sh')!.content = tree.get('bin/busybox')!.content!
  t.same(measureTree(tree, []).map((p) => [p.kind, p.bytes, p.files]), [['init', 1000, 1]])
})

t.test('a files: entry over a container path is counted as files:', async (t) => {
  const tree = treeOf({ 'containers/services/web/rootfs/etc/conf': 9, 'containers/services/web/rootfs/bin/x': 1 })
  t.same(measureTree(tree, ['containers/services/web/rootfs/etc/conf']).map((p) => [p.label, p.bytes]), [
    ['service web', 1], ['files:', 9],
  ])
})

t.test('an empty tree has no parts', async (t) => {
  t.same(measureTree(new FsTree(), []), [])
})
