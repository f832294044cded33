import t from 'tap'
import { execa } from 'execa'
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import tar from 'tar-stream'
import { mediaTypes, sha256Digest, type Descriptor, type ImageManifest } from '../oci/index.js'
import { exportOciLayout, importOciLayout, readOciLayout, referenceFromAnnotations } from './oci-layout.js'
import { Store } from './store.js'

const skopeo = (...args: string[]) => execa('skopeo', ['--insecure-policy', ...args])

async function layerTar(files: Record<string, string>): Promise<Buffer> {
  const pack = tar.pack()
  const chunks: Buffer[] = []
  const done = (async () => {
    for await (const c of pack as AsyncIterable<Buffer>) chunks.push(c)
  })()
  for (const [name, data] of Object.entries(files)) pack.entry({ name, mode: 0o644, mtime: new Date(0) }, data)
  pack.finalize()
  await done
  return Buffer.concat(chunks)
}

async function makeImage(store: Store, ref: string, content = 'layout test\n'): Promise<Descriptor> {
  const plain = await layerTar({ 'hello.txt': content })
  const layer = await store.putBlob(gzipSync(plain))
  return store.putImage(ref, { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256Digest(plain)] } },
    [{ mediaType: mediaTypes.ociLayerGzip, ...layer }])
}

t.test('exported layouts are read by skopeo and umoci and import back', async (t) => {
  const dir = t.testdir()
  const store = await Store.open(join(dir, 'store'))
  const a = await makeImage(store, 'docker.io/keel/a:1.0')
  const b = await makeImage(store, 'ghcr.io/o/b@sha256:' + 'c'.repeat(64), 'b\n')
  const layout = join(dir, 'layout')
  await exportOciLayout(store, ['keel/a:1.0', 'ghcr.io/o/b@sha256:' + 'c'.repeat(64)], layout)

  const read = await readOciLayout(layout)
  t.same(read.index.manifests.map((m) => m.annotations), [
    { 'io.containerd.image.name': 'docker.io/keel/a:1.0', 'org.opencontainers.image.ref.name': '1.0' },
    { 'io.containerd.image.name': 'ghcr.io/o/b@sha256:' + 'c'.repeat(64), 'org.opencontainers.image.ref.name': 'ghcr.io/o/b@sha256:' + 'c'.repeat(64) },
  ], 'ref.name is the tag; the full reference when there is no tag')

  const inspected = JSON.parse((await skopeo('inspect', `oci:${layout}:1.0`)).stdout)
  t.equal(inspected.Digest, a.digest, 'skopeo finds the image by its tag')
  const bundle = join(dir, 'bundle')
  await execa('umoci', ['unpack', '--rootless', '--image', `${layout}:1.0`, bundle])
  t.equal(readFileSync(join(bundle, 'rootfs', 'hello.txt'), 'utf8'), 'layout test\n', 'umoci unpacks it')

  const other = await Store.open(join(dir, 'other'))
  const imported = await importOciLayout(other, layout, { ref: '1.0', name: 'keel/imported:1' })
  t.equal(imported.descriptor.digest, a.digest)
  t.same(imported.refs, ['docker.io/keel/imported:1'])
  t.equal((await other.resolve('docker.io/keel/imported:1'))?.digest, a.digest)
  t.equal((await other.imageSource('docker.io/keel/imported:1'))?.layers.length, 1)
  const untagged = await importOciLayout(other, layout, { ref: 'ghcr.io/o/b@sha256:' + 'c'.repeat(64) })
  t.equal(untagged.descriptor.digest, b.digest)
  t.same(untagged.refs, [], 'nothing tagged without a name')

  await t.rejects(importOciLayout(other, layout, {}), { name: 'UserError', message: /holds 2 images; name one.*it has: 1.0, ghcr.io\/o\/b@sha256/ })
  await t.rejects(importOciLayout(other, layout, { ref: 'nope' }), { name: 'UserError', message: /no image named "nope" \(it has: 1.0, / })
  await t.rejects(exportOciLayout(store, ['keel/a:1.0'], layout), { name: 'UserError', message: /not empty/ })
  await t.rejects(exportOciLayout(store, ['keel/zzz:1'], join(dir, 'new')), { name: 'UserError', message: /no image keel\/zzz:1/ })
})

t.test('layouts written by skopeo import; one image needs no ref', async (t) => {
  const dir = t.testdir()
  const store = await Store.open(join(dir, 'store'))
  const a = await makeImage(store, 'docker.io/keel/a:1')
  const layout = join(dir, 'layout')
  await exportOciLayout(store, ['keel/a:1'], layout)
  const archive = join(dir, 'd.tar')
  await skopeo('copy', `oci:${layout}:1`, `docker-archive:${archive}:x/y:1`)
  const second = join(dir, 'skopeo-layout')
  await skopeo('copy', `docker-archive:${archive}`, `oci:${second}:latest`)
  const skopeoDigest = JSON.parse((await skopeo('inspect', `oci:${second}:latest`)).stdout).Digest as string

  const other = await Store.open(join(dir, 'other'))
  const r = await importOciLayout(other, second, { name: 'x/y:1' })
  t.equal(r.descriptor.digest, skopeoDigest, 'the only image, as skopeo wrote it')
  const m = await other.readJson<ImageManifest>(r.descriptor.digest)
  const original = await store.readJson<ImageManifest>(a.digest)
  // skopeo re-serialises the config converting to OCI; the layers stay the same
  const diffIds = async (s: Store, d: string) => (await s.readJson<{ rootfs: { diff_ids: string[] } }>(d as `sha256:${string}`)).rootfs.diff_ids
  t.same(await diffIds(other, m.config.digest), await diffIds(store, original.config.digest), 'same diff_ids')
  t.equal(m.layers.length, 1)
  t.equal((await other.resolve('docker.io/x/y:1'))?.digest, skopeoDigest)
})

t.test('bad layouts are refused', async (t) => {
  const dir = t.testdir()
  const store = await Store.open(join(dir, 'store'))
  await makeImage(store, 'docker.io/keel/a:1')
  const layout = join(dir, 'layout')
  await exportOciLayout(store, ['keel/a:1'], layout)
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'))
  const manifestDigest: string = index.manifests[0].digest
  const manifest = JSON.parse(readFileSync(join(layout, 'blobs', 'sha256', manifestDigest.slice(7)), 'utf8')) as ImageManifest
  const layerFile = join(layout, 'blobs', 'sha256', manifest.layers[0]!.digest.slice(7))

  // a layer whose bytes are not what its name says
  const fresh = await Store.open(join(dir, 'fresh'))
  chmodSync(layerFile, 0o644)
  const original = readFileSync(layerFile)
  const tampered = Buffer.from(original)
  tampered.writeUInt8(tampered.readUInt8(tampered.length - 1) ^ 0xff, tampered.length - 1)
  writeFileSync(layerFile, tampered)
  await t.rejects(importOciLayout(fresh, layout, { name: 'x:1' }), {
    name: 'IntegrityError',
    message: new RegExp(`OCI layout ${layout}: ${layerFile} does not match its name: .*expected ${manifest.layers[0]!.digest}.*got ${sha256Digest(tampered)}`),
  })
  t.notOk(await fresh.hasBlob(sha256Digest(tampered)), 'the bad bytes are not kept under any name')
  t.notOk(await fresh.hasBlob(manifest.layers[0]!.digest))
  t.same(readdirSync(join(fresh.root, 'blobs', 'sha256')).filter((f) => f.endsWith('.tmp')), [], 'no temp files')
  t.equal(await fresh.resolve('docker.io/library/x:1'), undefined, 'no tag')
  writeFileSync(layerFile, original)

  // a missing blob
  const saved = readFileSync(layerFile)
  rmSync(layerFile)
  await t.rejects(importOciLayout(fresh, layout, {}), { name: 'UserError', message: new RegExp(`incomplete: ${layerFile}.*is missing`) })
  writeFileSync(layerFile, saved)

  // digests that would build paths outside blobs/ are refused before any path is made
  const evil = join(dir, 'evil')
  mkdirSync(join(evil, 'blobs', 'sha256'), { recursive: true })
  writeFileSync(join(evil, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}')
  writeFileSync(join(evil, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: mediaTypes.ociManifest, digest: 'sha256:../../../etc/passwd', size: 1 }] }))
  await t.rejects(readOciLayout(evil), { name: 'IntegrityError', message: /malformed digest "sha256:..\/..\/..\/etc\/passwd"/ })
  // ... also inside a manifest
  const m = Buffer.from(JSON.stringify({ schemaVersion: 2, config: { mediaType: mediaTypes.ociConfig, digest: 'sha256:../x', size: 1 }, layers: [] }))
  writeFileSync(join(evil, 'blobs', 'sha256', sha256Digest(m).slice(7)), m)
  writeFileSync(join(evil, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: mediaTypes.ociManifest, digest: sha256Digest(m), size: m.length }] }))
  await t.rejects(importOciLayout(fresh, evil, { name: 'x:1' }), { name: 'IntegrityError', message: /config: malformed digest "sha256:..\/x"/ })
  t.equal(await fresh.resolve('docker.io/library/x:1'), undefined, 'no tag')

  writeFileSync(join(evil, 'oci-layout'), '{"imageLayoutVersion":"2.0.0"}')
  await t.rejects(readOciLayout(evil), { name: 'UserError', message: /unsupported imageLayoutVersion "2.0.0"/ })
  await t.rejects(readOciLayout(join(dir, 'nowhere')), { name: 'UserError', message: /is not an OCI image layout: it has no oci-layout/ })
  t.ok(existsSync(layerFile))
})

t.test('which annotations name a store reference', async (t) => {
  const ref = 'org.opencontainers.image.ref.name'
  t.equal(referenceFromAnnotations({ [ref]: 'latest' }), undefined, 'a bare tag is not')
  t.equal(referenceFromAnnotations({ [ref]: 'alpine:3.20' }), 'docker.io/library/alpine:3.20')
  t.equal(referenceFromAnnotations({ [ref]: 'latest', 'io.containerd.image.name': 'docker.io/library/busybox:latest' }), 'docker.io/library/busybox:latest')
  t.equal(referenceFromAnnotations({ [ref]: 'Not A Ref:x' }), undefined)
  t.equal(referenceFromAnnotations(undefined), undefined)
})
