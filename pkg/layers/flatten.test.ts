import t from 'tap'
import { memoryImage } from '../../test/helpers/memory-image.js'
import type { ImageSource } from '../oci/index.js'
import { ContentStore, contentBuffer } from './content.js'
import { flattenImage as flattenWith } from './flatten.js'
import type { TreeEntry } from './tree.js'

const stores: ContentStore[] = []
t.teardown(async () => { for (const s of stores) await s.dispose() })
async function flattenImage(img: ImageSource) {
  const store = await ContentStore.create(t.testdirName + '-content')
  stores.push(store)
  return (await flattenWith(img, store)).tree
}
const text = async (e: TreeEntry | undefined): Promise<string | undefined> => (e?.content ? (await contentBuffer(e.content)).toString() : undefined)

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
  t.equal(await text(tree.get('etc/a')), 'a2')
  t.notOk(tree.has('etc/b'), 'whited out')
  t.notOk(tree.has('var/lib/old'), 'opaque folder hides lower content')
  t.equal(await text(tree.get('var/lib/new')), 'n', 'but keeps its own layer\'s')
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
  t.equal(await text(sorted.find((e) => e.path === 'bin/ash')), 'shell')
})

t.test('hostile entries are refused naming image, layer and entry', async (t) => {
  const cases: Array<[string, object[], RegExp]> = [
    ['dot-dot', [{ name: '../etc/passwd', content: 'x' }], /image bad \(sha256:[0-9a-f]+\) layer 0 \(sha256:[0-9a-f]+\): entry "\.\.\/etc\/passwd"/],
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
  await t.rejects(flattenImage(img), { name: 'IntegrityError', message: /uncompressed content is sha256:[0-9a-f]{64} but the image config says sha256:0{64}/ })
  const short = await memoryImage('y', [[{ name: 'a', content: 'a' }]])
  short.config.rootfs.diff_ids = []
  await t.rejects(flattenImage(short), /1 layers but 0 diff_ids/)
})

t.test('more hostile layers: the root replaced, a folder turned into a symlink, whiteout tricks', async (t) => {
  const cases: Array<[string, object[][], RegExp]> = [
    ['a symlink named "."', [[{ name: '.', type: 'symlink', linkname: '/etc' }]], /a symlink cannot replace the root/],
    ['a symlink named "/"', [[{ name: './', type: 'symlink', linkname: '/' }]], /a symlink cannot replace the root|absolute/],
    // node-tar CVE-2021-32803: a folder, then a symlink of the same name, then a file "inside" it.
    ['folder then symlink then file', [[{ name: 'a/' }, { name: 'a', type: 'symlink', linkname: '/etc' }, { name: 'a/passwd', content: 'x' }]], /written through symlink "a"/],
    // containerd CVE-2021-32760 style: a later layer turns a folder into a symlink and writes through it.
    ['across layers', [[{ name: 'd/' }, { name: 'd/f', content: '1' }], [{ name: 'd', type: 'symlink', linkname: '/root' }, { name: 'd/f', content: '2' }]], /written through symlink "d"/],
    ['an entry inside a whiteout', [[{ name: '.wh.x/y', content: 'z' }]], /inside a whiteout/],
    ['a malformed whiteout', [[{ name: 'dir/.wh.', content: '' }]], /malformed whiteout/],
  ]
  for (const [name, layers, want] of cases) {
    const img = await memoryImage('bad', layers as never)
    await t.rejects(flattenImage(img), want, name)
  }
})

t.test('whiteouts hide only lower layers; duplicates and type changes: the last one wins', async (t) => {
  const img = await memoryImage('x', [
    [{ name: 'keep', content: 'lower' }, { name: 'gone', content: 'lower' }, { name: 'swap/' }, { name: 'swap/child', content: 'c' }],
    [
      { name: 'keep', content: 'upper' }, { name: '.wh.keep' }, // same layer: the whiteout does not hide it
      { name: '.wh.gone' },
      { name: '.wh.never-existed' },
      { name: 'swap', content: 'now a file' }, // a folder replaced by a file: its children go
      { name: 'dup', content: 'one' }, { name: 'dup', content: 'two' },
    ],
  ])
  const tree = await flattenImage(img)
  t.equal(await text(tree.get('keep')), 'upper')
  t.notOk(tree.has('gone'))
  t.equal(tree.get('swap')?.type, 'file')
  t.notOk(tree.has('swap/child'))
  t.equal(await text(tree.get('dup')), 'two')
})

t.test('setuid files, devices, fifos and xattrs are kept as the image has them', async (t) => {
  const img = await memoryImage('x', [[
    { name: 'bin/su', content: 'su', mode: 0o4755 },
    { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
    { name: 'run/fifo', type: 'fifo', mode: 0o600 },
  ]])
  const tree = await flattenImage(img)
  t.equal(tree.get('bin/su')?.mode, 0o4755)
  t.match(tree.get('dev/null'), { type: 'char', devmajor: 1, devminor: 3 })
  t.equal(tree.get('run/fifo')?.type, 'fifo')
})

t.test('wrong compression and bombs are refused naming the layer', async (t) => {
  const { tarOf } = await import('../../test/helpers/memory-image.js')
  const { Readable } = await import('node:stream')
  const { gzipSync } = await import('node:zlib')
  const { createHash } = await import('node:crypto')
  const plain = await tarOf([{ name: 'f', content: 'x' }])
  const diffId = `sha256:${createHash('sha256').update(plain).digest('hex')}` as const
  const image = (bytes: Buffer, mediaType: string): ImageSource => ({
    ref: 'r', digest: `sha256:${'1'.repeat(64)}`,
    config: { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [diffId] } },
    layers: [{ descriptor: { mediaType, digest: `sha256:${'2'.repeat(64)}`, size: bytes.length }, open: () => Readable.from([bytes]) }],
  })
  await t.rejects(flattenImage(image(plain, 'application/vnd.oci.image.layer.v1.tar+gzip')), { name: 'IntegrityError', message: /layer 0 .*not valid gzip data as its media type says/ })
  await t.rejects(flattenImage(image(Buffer.from('definitely not zstd, nor anything zstd can read'), 'application/vnd.oci.image.layer.v1.tar+zstd')), { name: 'IntegrityError', message: /not valid zstd data/ })
  t.equal(await text((await flattenImage(image(gzipSync(plain), 'application/vnd.oci.image.layer.v1.tar+gzip'))).get('f')), 'x')
  const store = await ContentStore.create(t.testdirName + '-c2')
  stores.push(store)
  const zeros = await tarOf([{ name: 'z', content: Buffer.alloc(80 * 1024 * 1024) }])
  const bomb = gzipSync(zeros, { level: 9 })
  const zdiff = `sha256:${createHash('sha256').update(zeros).digest('hex')}`
  const bombImage: ImageSource = { ...image(bomb, 'application/vnd.oci.image.layer.v1.tar+gzip') }
  bombImage.config = { ...bombImage.config, rootfs: { type: 'layers', diff_ids: [zdiff as never] } }
  await t.rejects(flattenWith(bombImage, store, { limits: { maxRatio: 100 } }), /expands more than 100 times/)
  await t.rejects(flattenWith(bombImage, store, { limits: { maxBytes: 1024 * 1024 } }), /more than 1048576 bytes uncompressed/)
  const many = await memoryImage('many', [[{ name: 'a', content: '1' }, { name: 'b', content: '2' }, { name: 'c', content: '3' }]])
  await t.rejects(flattenWith(many, store, { limits: { maxEntries: 2 } }), /more than 2 entries/)
})
