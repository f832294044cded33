import t from 'tap'
import { memoryImage, tarOf } from '../../test/helpers/memory-image.js'
import { parseManifest } from '../manifest/index.js'
import type { ImageSource } from '../oci/index.js'
import { assembleTree } from './assemble.js'
import { treeToTar } from './tar-stream.js'

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
services:
  - name: svc
    image: bb
files:
  - path: etc/motd
    contents: hello
    mode: "0644"
  - path: /var/lib/app/conf
    contents: x
    uid: svc
`

t.test('the tree has LinuxKit\'s layout', async (t) => {
  const tree = await assembleTree({ manifest: parseManifest(manifest, 'm.yml', '/'), images: await images() })
  const paths = tree.sorted().map((e) => e.path)
  for (const p of [
    'boot/kernel', 'boot/cmdline', 'lib/modules/6.1/kernel/virtio.ko', 'init',
    'containers/onboot/000-first/config.json', 'containers/onboot/000-first/runtime.json', 'containers/onboot/000-first/rootfs/bin/busybox',
    'containers/services/svc/config.json', 'containers/services/svc/rootfs/bin/sh', 'etc/motd',
  ]) t.ok(paths.includes(p), p)
  t.equal(tree.get('boot/kernel')?.data?.toString(), 'BZIMAGE')
  t.equal(tree.get('boot/cmdline')?.data?.toString(), 'console=ttyS0')
  t.equal(tree.get('etc/resolv.conf')?.type, 'symlink', 'init images get resolv.conf as a symlink')
  t.equal(tree.get('etc/resolv.conf')?.linkname, '/run/resolvconf/resolv.conf')
  t.equal(tree.get('containers/services/svc/rootfs/etc/resolv.conf')?.data?.toString(), '\n# no resolv.conf configured\n')
  t.match(tree.get('containers/services/svc/rootfs/etc/hosts')?.data?.toString(), /^127\.0\.0\.1\s+localhost/)
  t.notOk(tree.has('containers/services/svc/rootfs/.dockerenv'), 'docker files dropped')
  t.notOk(tree.has('containers/services/svc/rootfs/etc/hostname'))
  t.ok(tree.has('containers/services/svc/rootfs/proc'), 'mount points made')
  const cfg = JSON.parse(tree.get('containers/services/svc/config.json')!.data!.toString())
  t.same(cfg.process.args, ['/bin/sh'], 'command from the image config')
  t.equal(tree.get('var/lib/app/conf')?.uid, 101, 'uid by container name: onboot first=100, services svc=101')
  t.equal(tree.get('etc/motd')?.mode, 0o644)
})

t.test('the tar stream is the same bytes every time and sorted', async (t) => {
  const build = async (): Promise<Buffer> => {
    const tree = await assembleTree({ manifest: parseManifest(manifest, 'm.yml', '/'), images: await images() })
    const chunks: Buffer[] = []
    for await (const c of treeToTar(tree, 0)) chunks.push(c as Buffer)
    return Buffer.concat(chunks)
  }
  const a = await build()
  const b = await build()
  t.ok(a.equals(b))
})

t.test('missing pieces of the kernel image are named', async (t) => {
  const imgs = await images()
  imgs.set('kern', await memoryImage('kern', [[{ name: 'vmlinuz', content: 'x' }]]))
  await t.rejects(assembleTree({ manifest: parseManifest(manifest, 'm.yml', '/'), images: imgs }), /kernel image kern: no kernel file "kernel"/)
  imgs.set('kern', await memoryImage('kern', [[{ name: 'kernel', content: 'x' }]]))
  await t.rejects(assembleTree({ manifest: parseManifest(manifest, 'm.yml', '/'), images: imgs }), /no modules tarball "kernel.tar"/)
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
  const tree = await assembleTree({ manifest: m, images: new Map(), readSource: async (p) => (p === '/nowhere/present' ? Buffer.from('S') : undefined) })
  t.equal(tree.get('a/from-source')?.data?.toString(), 'S')
  t.equal(tree.get('a/from-source')?.mode, 0o600)
  t.equal(tree.get('a')?.mode, 0o700)
  t.notOk(tree.has('b/optional'))
  t.equal(tree.get('c/link')?.linkname, '/target')
  t.equal(tree.get('d/dir')?.type, 'directory')
  const missing = parseManifest('files:\n  - path: x\n    source: /absent\n', 'f.yml', '/')
  await t.rejects(assembleTree({ manifest: missing, images: new Map(), readSource: async () => undefined }), /files\[0\] x: source \/absent does not exist/)
})
