import t from 'tap'
import { memoryImage, tarOf } from '../../test/helpers/memory-image.js'
import tar from 'tar-stream'
import { ContentStore, FsTree, contentBuffer, memoryContent, type TreeEntry } from '../layers/index.js'
import { parseManifest } from '../manifest/index.js'
import type { ImageSource } from '../oci/index.js'
import { assembleTree, type AssembleInput } from './assemble.js'
import { treeToTar } from './tar-stream.js'

const stores: ContentStore[] = []
t.teardown(async () => { for (const s of stores) await s.dispose() })

async function assemble(input: Omit<AssembleInput, 'content'>): Promise<FsTree> {
  const content = await ContentStore.create(`${t.testdirName}-content`)
  stores.push(content)
  return (await assembleTree({ ...input, content })).tree
}

const text = async (e: TreeEntry | undefined): Promise<string | undefined> => (e?.content ? (await contentBuffer(e.content)).toString() : undefined)

async function images(): Promise<Map<string, ImageSource>> {
  const modules = await tarOf([{ name: 'lib/modules/6.1/kernel/virtio.ko', content: 'ko' }])
  return new Map([
    ['kern', await memoryImage('kern', [[{ name: 'kernel', content: 'BZIMAGE' }, { name: 'kernel.tar', content: modules }]])],
    ['init', await memoryImage('init', [[{ name: 'init', content: 'ELF', mode: 0o755 }, { name: 'etc/resolv.conf', content: 'nameserver 1.1.1.1' }]])],
    ['bb', await memoryImage('bb', [[
      { name: 'bin/busybox', content: 'BB', mode: 0o755 },
      { name: 'bin/sh', type: 'symlink', linkname: 'busybox' },
      { name: '.dockerenv', content: '' },
      { name: 'etc/hostname', content: 'docker' },
    ]], { Cmd: ['/bin/sh'] })],
  ])
}

const manifest = `kernel:
  image: kern
  cmdline: console=ttyS0
init: [init]
onboot:
  - name: first
    image: bb
    command: [/bin/echo, hi]
    readonly: true
services:
  - name: svc
    image: bb
  - name: other
    image: bb
files:
  - path: etc/motd
    contents: hello
    mode: "0644"
  - path: /var/lib/app/conf
    contents: x
    uid: svc
  - path: etc/keel.yml
    metadata: yaml
`

t.test('the tree has LinuxKit\'s layout; an image used twice is unpacked once', async (t) => {
  const tree = await assemble({ manifest: parseManifest(manifest, 'm.yml', '/'), images: await images() })
  const paths = tree.sorted().map((e) => e.path)
  for (const p of [
    'boot/kernel', 'boot/cmdline', 'lib/modules/6.1/kernel/virtio.ko', 'init',
    'containers/onboot/000-first/config.json', 'containers/onboot/000-first/runtime.json', 'containers/onboot/000-first/rootfs/bin/busybox',
    'containers/services/svc/config.json', 'containers/services/svc/rootfs', 'containers/services/svc/tmp', 'etc/motd',
  ]) t.ok(paths.includes(p), p)
  t.notOk(paths.includes('containers/services/svc/lower/bin/busybox'), 'not unpacked again: the onboot container has it')
  t.notOk(paths.some((p) => p.startsWith('containers/services/other/lower')), 'nor for the third')
  t.equal(await text(tree.get('boot/kernel')), 'BZIMAGE')
  t.equal(await text(tree.get('boot/cmdline')), 'console=ttyS0')
  t.equal(tree.get('etc/resolv.conf')?.type, 'symlink', 'init images get resolv.conf as a symlink')
  t.equal(tree.get('etc/resolv.conf')?.linkname, '/run/resolvconf/resolv.conf')
  t.equal(await text(tree.get('containers/onboot/000-first/rootfs/etc/resolv.conf')), '\n# no resolv.conf configured\n')
  t.match(await text(tree.get('containers/onboot/000-first/rootfs/etc/hosts')), /^127\.0\.0\.1\s+localhost/)
  t.notOk(tree.has('containers/onboot/000-first/rootfs/.dockerenv'), 'docker files dropped')
  t.notOk(tree.has('containers/onboot/000-first/rootfs/etc/hostname'))
  t.ok(tree.has('containers/onboot/000-first/rootfs/proc'), 'mount points made')
  const cfg = JSON.parse((await text(tree.get('containers/services/svc/config.json')))!)
  t.same(cfg.process.args, ['/bin/sh'], 'command from the image config')
  const readonlyRuntime = JSON.parse((await text(tree.get('containers/onboot/000-first/runtime.json')))!)
  t.same(readonlyRuntime.mounts[0], { destination: '/containers/onboot/000-first/rootfs', source: '/containers/onboot/000-first/rootfs', options: ['bind'] }, 'its own copy, bound onto itself')
  const svcRuntime = JSON.parse((await text(tree.get('containers/services/svc/runtime.json')))!)
  t.same(svcRuntime.mounts, [
    { destination: '/containers/services/svc/tmp', type: 'tmpfs', source: 'tmpfs' },
    { destination: '/containers/services/svc/tmp', options: ['remount', 'private'] },
    { destination: '/containers/services/svc/rootfs', type: 'overlay', source: 'overlay', options: ['lowerdir=/containers/onboot/000-first/rootfs', 'upperdir=/containers/services/svc/tmp/upper', 'workdir=/containers/services/svc/tmp/work'] },
  ], 'a writable root: an overlay over the shared copy')
  t.equal(tree.get('var/lib/app/conf')?.uid, 101, 'uid by container name: onboot first=100, services svc=101')
  t.equal(tree.get('etc/motd')?.mode, 0o644)
  t.match(await text(tree.get('etc/keel.yml')), /image: docker\.io\/library\/bb:latest|image: bb/, 'metadata: the manifest itself')
})

t.test('the tar stream is the same bytes every time, whatever folder the content was kept in', async (t) => {
  const build = async (): Promise<Buffer> => {
    const tree = await assemble({ manifest: parseManifest(manifest, 'm.yml', '/'), images: await images() })
    const chunks: Buffer[] = []
    for await (const c of treeToTar(tree, 0)) chunks.push(c as Buffer)
    return Buffer.concat(chunks)
  }
  const a = await build()
  const b = await build()
  t.ok(a.equals(b))
})

t.test('empty files, in memory and from a layer, go through the tar stream', async (t) => {
  // tar-stream never finishes a file entry given no body, even of size 0:
  // keel build then stopped with nothing written, and exit 0.
  const tree = new FsTree()
  tree.set({ path: 'empty-memory', type: 'file', mode: 0o644, uid: 0, gid: 0, content: memoryContent('') }, 'test')
  tree.set({ path: 'no-content', type: 'file', mode: 0o644, uid: 0, gid: 0 }, 'test')
  tree.set({ path: 'z', type: 'file', mode: 0o644, uid: 0, gid: 0, content: memoryContent('after') }, 'test')
  const names: string[] = []
  const extract = tar.extract()
  const reading = (async () => {
    for await (const entry of extract) {
      names.push(`${entry.header.name}:${entry.header.size}`)
      entry.resume()
    }
  })()
  treeToTar(tree, 0).pipe(extract as unknown as NodeJS.WritableStream)
  await reading
  t.same(names, ['empty-memory:0', 'no-content:0', 'z:5'])
})

t.test('missing pieces of the kernel image are named', async (t) => {
  const imgs = await images()
  imgs.set('kern', await memoryImage('kern', [[{ name: 'vmlinuz', content: 'x' }]]))
  await t.rejects(assemble({ manifest: parseManifest(manifest, 'm.yml', '/'), images: imgs }), /kernel image kern \(sha256:[0-9a-f]+\): no kernel file "kernel"/)
  imgs.set('kern', await memoryImage('kern', [[{ name: 'kernel', content: 'x' }]]))
  await t.rejects(assemble({ manifest: parseManifest(manifest, 'm.yml', '/'), images: imgs }), /no modules tarball "kernel.tar"/)
})

t.test('files: source, optional, symlink, directory and errors', async (t) => {
  const m = parseManifest(`files:
  - path: a/from-source
    source: /nowhere/present
  - path: b/optional
    source: /nowhere/absent
    optional: true
  - path: c/link
    symlink: /target
  - path: d/dir
    directory: true
`, 'f.yml', '/')
  const tree = await assemble({ manifest: m, images: new Map(), readSource: async (p) => (p === '/nowhere/present' ? Buffer.from('S') : undefined) })
  t.equal(await text(tree.get('a/from-source')), 'S')
  t.equal(tree.get('a/from-source')?.mode, 0o600)
  t.equal(tree.get('a')?.mode, 0o700)
  t.notOk(tree.has('b/optional'))
  t.equal(tree.get('c/link')?.linkname, '/target')
  t.equal(tree.get('d/dir')?.type, 'directory')
  const missing = parseManifest('files:\n  - path: x\n    source: /absent\n', 'f.yml', '/')
  await t.rejects(assemble({ manifest: missing, images: new Map(), readSource: async () => undefined }), /files\[0\] x: source \/absent does not exist/)
})

t.test('volumes: an image\'s files or an OCI layout of it, and binds rewritten to the merged folder', async (t) => {
  const imgs = await images()
  const m = parseManifest(`volumes:
  - name: data
    image: bb
  - name: layout
    image: bb
    format: oci
  - name: empty
    readonly: true
services:
  - name: svc
    image: bb
    binds:
      - data:/data
      - empty:/empty:ro
    mounts:
      - type: bind
        source: layout
        destination: /layout
        options: [rbind]
`, 'v.yml', '/')
  const tree = await assemble({ manifest: m, images: imgs })
  t.ok(tree.has('containers/volumes/data/lower/bin/busybox'), 'filesystem volume: the image\'s files')
  t.ok(tree.has('containers/volumes/data/tmp') && tree.has('containers/volumes/data/merged'))
  t.notOk(tree.has('containers/volumes/empty/tmp'), 'a read-only volume has no tmp: init binds it read-only')
  const index = JSON.parse((await text(tree.get('containers/volumes/layout/lower/index.json')))!)
  const digest = index.manifests[0].digest as string
  t.ok(tree.has(`containers/volumes/layout/lower/blobs/${digest.replace(':', '/')}`), 'oci volume: a layout with the manifest...')
  const layer = imgs.get('bb')!.layers[0]!.descriptor.digest
  t.ok(tree.has(`containers/volumes/layout/lower/blobs/${layer.replace(':', '/')}`), '...and its layers')
  const cfg = JSON.parse((await text(tree.get('containers/services/svc/config.json')))!) as { mounts: Array<{ destination: string; source: string }> }
  t.equal(cfg.mounts.find((x) => x.destination === '/data')?.source, '/containers/volumes/data/merged')
  t.equal(cfg.mounts.find((x) => x.destination === '/empty')?.source, '/containers/volumes/empty/merged')
  t.equal(cfg.mounts.find((x) => x.destination === '/layout')?.source, '/containers/volumes/layout/merged')
  const bad = parseManifest('volumes:\n  - name: ro\n    readonly: true\nservices:\n  - name: s\n    image: bb\n', 'b.yml', '/')
  bad.services[0]!['binds'] = ['ro:/x']
  await t.rejects(assemble({ manifest: bad, images: imgs }), /volume ro is read-only; bind it with ":ro"/)
})
