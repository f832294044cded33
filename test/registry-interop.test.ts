// keel against real peers: Debian's docker-registry on 127.0.0.1, skopeo and
// umoci. Images go both ways, through keel's CLI as a user runs it, and into
// manifests by registry reference and by skopeo's transports.
import t from 'tap'
import { execFile } from 'node:child_process'
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { assembleTree } from '../pkg/assemble/index.js'
import { ContentStore } from '../pkg/layers/index.js'
import { createRealRunner } from '../pkg/exec/index.js'
import { createMemoryLogger } from '../pkg/log/index.js'
import { parseManifest } from '../pkg/manifest/index.js'
import { mediaTypes, sha256Digest, type ImageIndex } from '../pkg/oci/index.js'
import { RegistryClient } from '../pkg/registry/index.js'
import { resolveImages, type ResolveContext } from '../pkg/resolve/index.js'
import { Store, storeDir } from '../pkg/store/index.js'
import { startFakeServer, startRegistry } from './helpers/registry.js'
import { storeMemoryImage } from './helpers/memory-image.js'
import { keelInProcess, type InProcessResult } from './helpers/keel-io.js'

const exec = promisify(execFile)

const keel = (args: string[], env: NodeJS.ProcessEnv, cwd = process.cwd()): Promise<InProcessResult> => keelInProcess(args, { env, cwd })

const layers = [
  [{ name: 'etc/' }, { name: 'etc/greeting', content: 'hello from a registry\n' }],
  [{ name: 'bin/' }, { name: 'bin/tool', content: '#!/bin/sh\necho tool\n', mode: 0o755 }],
]

async function inspect(ref: string): Promise<{ Digest: string; Layers: string[] }> {
  const { stdout } = await exec('skopeo', ['inspect', '--tls-verify=false', `docker://${ref}`])
  return JSON.parse(stdout) as { Digest: string; Layers: string[] }
}

t.test('keel pushes, skopeo reads and copies, umoci unpacks; skopeo pushes, keel pulls', async (t) => {
  const reg = await startRegistry(t)
  const base = t.testdir({ a: {}, b: {} })
  const envA = { KEEL_CACHE: join(base, 'a') }
  const storeA = await Store.open(storeDir(envA.KEEL_CACHE))
  const local = await storeMemoryImage(storeA, 'docker.io/keel/interop:1', layers)

  const push = await keel(['cache', 'push', 'keel/interop:1', `${reg.host}/keel/interop:1`], envA)
  t.equal(push.code, 0, push.err)
  t.equal(push.out, `${reg.host}/keel/interop:1\t${local.digest}\n`, 'prints the pushed reference and digest')
  const pushedAgain = await keel(['cache', 'push', 'keel/interop:1', `${reg.host}/keel/interop:1`], envA)
  t.match(pushedAgain.err, /0 uploaded, 0 mounted, 3 already there/, 'a second push uploads nothing')

  const seen = await inspect(`${reg.host}/keel/interop:1`)
  t.equal(seen.Digest, local.digest, 'skopeo sees the same manifest digest')
  t.equal(seen.Layers.length, 2)

  const layout = join(base, 'layout')
  await exec('skopeo', ['copy', '--src-tls-verify=false', `docker://${reg.host}/keel/interop:1`, `oci:${layout}:x`])
  const bundle = join(base, 'bundle')
  await exec('umoci', ['unpack', '--rootless', '--image', `${layout}:x`, bundle])
  t.equal(readFileSync(join(bundle, 'rootfs/etc/greeting'), 'utf8'), 'hello from a registry\n', 'umoci unpacks what keel pushed')

  await exec('skopeo', ['copy', '--dest-tls-verify=false', `oci:${layout}:x`, `docker://${reg.host}/other/img:2`])
  const envB = { KEEL_CACHE: join(base, 'b') }
  const pull = await keel(['cache', 'pull', `${reg.host}/other/img:2`], envB)
  t.equal(pull.code, 0, pull.err)
  const skopeoSays = await inspect(`${reg.host}/other/img:2`)
  t.equal(pull.out, `${reg.host}/other/img:2\t${skopeoSays.Digest}\n`)
  const ls = await keel(['cache', 'ls'], envB)
  t.match(ls.out, new RegExp(`^${reg.host.replace(/\./g, '\\.')}/other/img:2\\t${skopeoSays.Digest}\\t`))
  const verify = await keel(['cache', 'verify'], envB)
  t.equal(verify.code, 0, 'the pulled image verifies')

  // A push to another repository of the same registry mounts instead of uploading.
  const mounted = await keel(['cache', 'push', `${reg.host}/other/img:2`, `${reg.host}/third/img:1`], envB)
  t.match(mounted.err, /0 uploaded, 3 mounted|0 uploaded, 2 mounted, 1 already there/, mounted.err)
})

t.test('a multi-platform index: the platform asked for is pulled', async (t) => {
  const reg = await startRegistry(t)
  const base = t.testdir({ src: {}, dst: {} })
  const src = await Store.open(storeDir(join(base, 'src')))
  const client = new RegistryClient({ log: createMemoryLogger() })
  const repo = { registry: reg.host, repository: 'multi/arch' }
  const manifests = []
  for (const arch of ['amd64', 'arm64']) {
    const d = await storeMemoryImage(src, `docker.io/local/${arch}:1`, [[{ name: 'arch', content: `${arch}\n` }]], {}, { os: 'linux', architecture: arch })
    const bytes = await src.readBlob(d.digest)
    const m = JSON.parse(bytes.toString()) as { config: { digest: string }; layers: Array<{ digest: string }> }
    for (const blob of [m.config, ...m.layers]) {
      const desc = (blob as never) as Parameters<RegistryClient['pushBlob']>[1]
      await client.pushBlob(repo, desc, () => src.openBlob(desc.digest))
    }
    await client.putManifest(repo, d.digest, bytes, mediaTypes.ociManifest)
    manifests.push({ mediaType: mediaTypes.ociManifest, digest: d.digest, size: bytes.length, platform: { os: 'linux', architecture: arch } })
  }
  const index: ImageIndex = { schemaVersion: 2, mediaType: mediaTypes.ociIndex, manifests }
  const indexBytes = Buffer.from(JSON.stringify(index))
  await client.putManifest(repo, 'latest', indexBytes, mediaTypes.ociIndex)

  for (const [arch, want] of [['linux/arm64', manifests[1]!.digest], [undefined, manifests[0]!.digest]] as const) {
    const env = { KEEL_CACHE: join(base, 'dst', arch ?? 'default') }
    const r = await keel(['cache', 'pull', ...(arch ? ['--platform', arch] : []), `${reg.host}/multi/arch`], env)
    t.equal(r.code, 0, r.err)
    t.equal(r.out, `${reg.host}/multi/arch:latest\t${want}\n`, `${arch ?? 'default linux/amd64'} gets its own manifest`)
  }
  const none = await keel(['cache', 'pull', '--platform', 'linux/s390x', `${reg.host}/multi/arch`], { KEEL_CACHE: join(base, 'dst', 's390x') })
  t.equal(none.code, 1)
  t.match(none.err, new RegExp(`pulling ${reg.host.replace(/\./g, '\\.')}/multi/arch:latest: ${sha256Digest(indexBytes)} has no linux/s390x image \\(it has: linux/amd64, linux/arm64\\)`))
})

t.test('a registry behind htpasswd: credentials from a docker config, and a clear error without', async (t) => {
  const reg = await startRegistry(t, { auth: { user: 'keel', password: 's3cret' } })
  const base = t.testdir({ cache: {}, docker: {} })
  const env = { KEEL_CACHE: join(base, 'cache') }
  const store = await Store.open(storeDir(env.KEEL_CACHE))
  await storeMemoryImage(store, 'docker.io/keel/private:1', layers)
  const anonymous = await keel(['cache', 'push', 'keel/private:1', `${reg.host}/keel/private:1`], env)
  t.equal(anonymous.code, 1)
  t.match(anonymous.err, new RegExp(`keel: error: pushing docker\\.io/keel/private:1 to ${reg.host.replace(/\./g, '\\.')}/keel/private:1: .*(401|credentials|authenticat)`, 'i'))
  writeFileSync(join(base, 'docker', 'config.json'), JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from('keel:s3cret').toString('base64') } } }))
  const withCreds = await keel(['cache', 'push', 'keel/private:1', `${reg.host}/keel/private:1`], { ...env, DOCKER_CONFIG: join(base, 'docker') })
  t.equal(withCreds.code, 0, withCreds.err)
  const pulled = await keel(['cache', 'pull', `${reg.host}/keel/private:1`], { KEEL_CACHE: join(base, 'cache2'), DOCKER_CONFIG: join(base, 'docker') })
  t.equal(pulled.code, 0, pulled.err)
})

t.test('a manifest names images by registry reference and by skopeo transports; all are pulled or imported', async (t) => {
  const reg = await startRegistry(t)
  const base = t.testdir({ src: {}, dst: {}, work: {} })
  const envSrc = { KEEL_CACHE: join(base, 'src') }
  const src = await Store.open(storeDir(envSrc.KEEL_CACHE))
  await storeMemoryImage(src, 'docker.io/keel/reg:1', [[{ name: 'from-registry', content: 'r\n' }]], { Cmd: ['/bin/true'] })
  await storeMemoryImage(src, 'docker.io/keel/archive:1', [[{ name: 'from-docker-archive', content: 'd\n' }]], { Cmd: ['/bin/true'] })
  await storeMemoryImage(src, 'docker.io/keel/ociarchive:1', [[{ name: 'from-oci-archive', content: 'o\n' }]], { Cmd: ['/bin/true'] })
  t.equal((await keel(['cache', 'push', 'keel/reg:1', `${reg.host}/keel/reg:1`], envSrc)).code, 0)
  const work = join(base, 'work')
  t.equal((await keel(['cache', 'export', '-o', join(work, 'img.tar'), 'keel/archive:1'], envSrc)).code, 0)
  t.equal((await keel(['cache', 'export', '-f', 'oci-archive', '-o', join(work, 'img-oci.tar'), 'keel/ociarchive:1'], envSrc)).code, 0)
  await exec('skopeo', ['copy', `oci-archive:${join(work, 'img-oci.tar')}:1`, `oci:${join(work, 'layout')}:v1`])

  const text = `onboot:
  - name: a
    image: ${reg.host}/keel/reg:1
  - name: b
    image: docker-archive:img.tar
  - name: c
    image: oci-archive:img-oci.tar:1
  - name: d
    image: oci:layout:v1
`
  const manifest = parseManifest(text, join(work, 'm.yml'), work)
  const store = await Store.open(storeDir(join(base, 'dst')))
  const log = createMemoryLogger()
  const ctx: ResolveContext = {
    store, cacheDir: join(base, 'dst'), runner: createRealRunner(), log,
    registry: new RegistryClient({ log }), platform: { os: 'linux', architecture: 'amd64' },
  }
  const images = await resolveImages(manifest, ctx)
  const content = await ContentStore.create(join(base, 'content'))
  t.teardown(() => content.dispose())
  const { tree } = await assembleTree({ manifest, images, content })
  t.ok(tree.has('containers/onboot/000-a/lower/from-registry'), 'pulled from the registry')
  t.ok(tree.has('containers/onboot/001-b/lower/from-docker-archive'), 'imported from a docker archive')
  t.ok(tree.has('containers/onboot/002-c/lower/from-oci-archive'), 'imported from an OCI archive by its tag')
  t.notOk(tree.has('containers/onboot/003-d/lower'), 'the OCI layout skopeo wrote holds the same image: not unpacked twice')
  // Pinned and cached: a second resolve works with the registry gone.
  const offline = await resolveImages(manifest, { ...ctx, registry: new RegistryClient({ log, attempts: 1 }) })
  t.equal(offline.size, 4)
})

t.test('a registry serving a corrupted layer: a clear error naming image and digest, nothing kept', async (t) => {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }))
  const layer = Buffer.from('this is not what was promised')
  const layerDigest = sha256Digest(Buffer.from('the promised content'))
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: mediaTypes.ociManifest,
    config: { mediaType: mediaTypes.ociConfig, digest: sha256Digest(config), size: config.length },
    layers: [{ mediaType: mediaTypes.ociLayerGzip, digest: layerDigest, size: layer.length }],
  }))
  const fake = await startFakeServer(t, (req, res) => {
    const url = req.url ?? ''
    if (url === '/v2/') return void res.writeHead(200).end('{}')
    if (url.endsWith('/manifests/1')) return void res.writeHead(200, { 'content-type': mediaTypes.ociManifest }).end(manifest)
    if (url.endsWith(sha256Digest(config))) return void res.writeHead(200).end(config)
    if (url.endsWith(layerDigest)) return void res.writeHead(200).end(layer)
    res.writeHead(404).end()
  })
  const env = { KEEL_CACHE: t.testdir({}) }
  const r = await keel(['cache', 'pull', `${fake.host}/bad/image:1`], env)
  t.equal(r.code, 1)
  t.match(r.err, new RegExp(`pulling ${fake.host.replace(/\./g, '\\.')}/bad/image.*${layerDigest}`))
  t.equal((await keel(['cache', 'ls'], env)).out, '', 'nothing tagged')
  const blobs = readdirSync(join(env.KEEL_CACHE, 'store', 'blobs', 'sha256'))
  t.notOk(blobs.includes(layerDigest.slice(7)), 'the bad layer is not in the store')
  t.notOk(blobs.some((b) => b.endsWith('.tmp')), 'no temporary files left')
  t.equal((await keel(['cache', 'verify'], env)).code, 0, 'and the store verifies')
})

t.test('export and import through a docker-archive keep the image whole', async (t) => {
  const base = t.testdir({ a: {}, b: {} })
  const a = await Store.open(storeDir(join(base, 'a')))
  const d = await storeMemoryImage(a, 'docker.io/keel/round:1', layers)
  mkdirSync(join(base, 'out'))
  t.equal((await keel(['cache', 'export', '-o', join(base, 'out', 'x.tar'), 'keel/round:1'], { KEEL_CACHE: join(base, 'a') })).code, 0)
  const imported = await keel(['cache', 'import', join(base, 'out', 'x.tar')], { KEEL_CACHE: join(base, 'b') })
  t.equal(imported.code, 0, imported.err)
  t.match(imported.out, /^docker\.io\/keel\/round:1\tsha256:[0-9a-f]{64}\n$/)
  const { stdout } = await exec('skopeo', ['inspect', `docker-archive:${join(base, 'out', 'x.tar')}`])
  t.equal((JSON.parse(stdout) as { Layers: string[] }).Layers.length, 2)
  const envA = { KEEL_CACHE: join(base, 'a') }
  t.match((await keel(['cache', 'ls'], envA)).out, new RegExp(`^docker\\.io/keel/round:1\\t${d.digest}\\t`))
  const rm = await keel(['cache', 'rm', 'keel/round:1'], envA)
  t.equal(rm.out, 'docker.io/keel/round:1\n')
  t.equal((await keel(['cache', 'ls'], envA)).out, '', 'gone from the list')
  const again = await keel(['cache', 'rm', 'keel/round:1'], envA)
  t.equal(again.code, 1, 'removing it twice is an error naming it')
  t.match(again.err, /keel\/round:1/)
  const clean = await keel(['cache', 'clean'], envA)
  t.equal(clean.code, 0)
  t.match(clean.err, /removed 0 blobs/, 'blobs younger than the grace period are kept')
})
