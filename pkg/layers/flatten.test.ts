import t from 'tap'
import { memoryImage } from '../../test/helpers/memory-image.js'
import { flattenImage } from './flatten.js'

t.test('later layers win; whiteouts and opaque folders remove what lower layers put there', async (t) => {
  const img = await memoryImage('x', [
    [
      { name: 'etc/' },
      { name: 'etc/a', content: 'a1' },
      { name: 'etc/b', content: 'b1' },
      { name: 'opt/' },
      { name: 'opt/keep', content: 'k' },
      { name: 'var/lib/old', content: 'o' },
    ],
    [
      { name: 'etc/a', content: 'a2' },
      { name: 'etc/.wh.b' },
      { name: 'var/lib/' },
      { name: 'var/lib/.wh..wh..opq' },
      { name: 'var/lib/new', content: 'n' },
    ],
  ])
  const tree = await flattenImage(img)
  t.equal(tree.get('etc/a')?.data?.toString(), 'a2')
  t.notOk(tree.has('etc/b'), 'whited out')
  t.notOk(tree.has('var/lib/old'), 'opaque folder hides lower content')
  t.equal(tree.get('var/lib/new')?.data?.toString(), 'n', 'but keeps its own layer\'s')
  t.ok(tree.has('opt/keep'))
  t.notOk([...tree.sorted()].some((e) => e.path.includes('.wh.')), 'no whiteout markers left')
})

t.test('hardlinks keep their data when the target is replaced later', async (t) => {
  const img = await memoryImage('x', [
    [{ name: 'bin/sh', content: 'shell', mode: 0o755 }, { name: 'bin/ash', type: 'link', linkname: 'bin/sh' }],
    [{ name: 'bin/sh', content: 'other' }],
  ])
  const tree = await flattenImage(img)
  const sorted = tree.sorted()
  t.equal(sorted.find((e) => e.path === 'bin/ash')?.type, 'file')
  t.equal(sorted.find((e) => e.path === 'bin/ash')?.data?.toString(), 'shell')
})

t.test('hostile entries are refused naming image, layer and entry', async (t) => {
  const cases: Array<[string, object[], RegExp]> = [
    ['dot-dot', [{ name: '../etc/passwd', content: 'x' }], /image bad layer 0 \(sha256:[0-9a-f]+\): entry "\.\.\/etc\/passwd"/],
    ['absolute', [{ name: '/etc/passwd', content: 'x' }], /absolute path/],
    ['double slash', [{ name: 'etc//passwd', content: 'x' }], /"\/\/"/],
    ['through a symlink', [{ name: 'etc', type: 'symlink', linkname: '/tmp' }, { name: 'etc/passwd', content: 'x' }], /written through symlink "etc"/],
    ['hardlink outside', [{ name: 'x', type: 'link', linkname: '../../etc/shadow' }], /hardlink/],
    ['hardlink to nothing', [{ name: 'x', type: 'link', linkname: 'missing' }], /not a file in this image/],
  ]
  for (const [name, entries, want] of cases) {
    const img = await memoryImage('bad', [entries as never])
    await t.rejects(flattenImage(img), want, name)
  }
})

t.test('a layer whose content does not match its diff_id is refused', async (t) => {
  const img = await memoryImage('x', [[{ name: 'a', content: 'a' }]])
  img.config.rootfs.diff_ids[0] = `sha256:${'0'.repeat(64)}`
  await t.rejects(flattenImage(img), { name: 'IntegrityError', message: /uncompressed content is sha256:[0-9a-f]{64} but the config says sha256:0{64}/ })
  const short = await memoryImage('y', [[{ name: 'a', content: 'a' }]])
  short.config.rootfs.diff_ids = []
  await t.rejects(flattenImage(short), /1 layers but 0 diff_ids/)
})
