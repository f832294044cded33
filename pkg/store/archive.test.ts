import t from 'tap'
import { execa } from 'execa'
import { createHash } from 'node:crypto'
import { chmodSync, existsSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import tar from 'tar-stream'
import { createMemoryLogger, silentLogger } from '../log/index.js'
import { mediaTypes, sha256Digest, type Descriptor, type Digest, type ImageManifest } from '../oci/index.js'
import { exportArchive, importArchive } from './archive.js'
import { Store } from './store.js'

const skopeo = (...args: string[]) => execa('skopeo', ['--insecure-policy', ...args])

interface TarFile { name: string; data?: string | Buffer; type?: 'file' | 'directory' | 'symlink'; linkname?: string }

async function makeTar(files: TarFile[]): Promise<Buffer> {
  const pack = tar.pack()
  const chunks: Buffer[] = []
  const done = (async () => {
    for await (const c of pack as AsyncIterable<Buffer>) chunks.push(c)
  })()
  for (const f of files) {
    await new Promise<void>((resolve, reject) => {
      const header = { name: f.name, mode: f.type === 'directory' ? 0o755 : 0o644, mtime: new Date(0), uid: 0, gid: 0, type: f.type ?? 'file', ...(f.linkname ? { linkname: f.linkname } : {}) }
      const cb = (err?: Error | null): void => (err ? reject(err) : resolve())
      if ((f.type ?? 'file') === 'file') pack.entry(header, f.data ?? '', cb)
      else pack.entry(header, cb)
    })
  }
  pack.finalize()
  await done
  return Buffer.concat(chunks)
}

interface TestImage { manifest: Descriptor; config: Digest; diffIds: Digest[]; layers: Descriptor[] }

/** A two-layer image: a gzip layer with etc/hello, a plain one with etc/second. */
async function makeImage(store: Store, ref: string, hello = 'hello from keel\n'): Promise<TestImage> {
  const plain1 = await makeTar([{ name: 'etc', type: 'directory' }, { name: 'etc/hello', data: hello }])
  const plain2 = await makeTar([{ name: 'etc/second', data: 'second layer\n' }])
  const l1 = await store.putBlob(gzipSync(plain1))
  const l2 = await store.putBlob(plain2)
  const diffIds = [sha256Digest(plain1), sha256Digest(plain2)]
  const layers = [{ mediaType: mediaTypes.ociLayerGzip, ...l1 }, { mediaType: mediaTypes.ociLayer, ...l2 }]
  const config = { architecture: 'amd64', os: 'linux', config: { Cmd: ['/bin/sh'] }, rootfs: { type: 'layers' as const, diff_ids: diffIds } }
  const manifest = await store.putImage(ref, config, layers)
  const m = await store.readJson<ImageManifest>(manifest.digest)
  return { manifest, config: m.config.digest, diffIds, layers }
}

const indexNames = async (store: Store): Promise<string[]> =>
  (await store.readIndex()).manifests.map((m) => m.annotations?.['org.opencontainers.image.ref.name'] ?? '')

t.test('docker-archive export is read by skopeo and umoci, and imports back', async (t) => {
  const dir = t.testdir()
  const store = await Store.open(join(dir, 'store'))
  const img = await makeImage(store, 'docker.io/keel/test:1')
  const archive = join(dir, 'test.tar')
  await exportArchive(store, ['keel/test:1'], archive, 'docker-archive')

  const listing = (await execa('tar', ['tf', archive])).stdout.split('\n')
  t.ok(listing.includes('manifest.json') && listing.includes('repositories'), 'manifest.json and repositories are there')
  const manifestJson = JSON.parse((await execa('tar', ['xOf', archive, 'manifest.json'])).stdout)
  t.same(manifestJson, [{
    Config: `${img.config.slice(7)}.json`,
    RepoTags: ['keel/test:1'],
    Layers: img.diffIds.map((d) => `${d.slice(7)}.tar`),
  }], 'manifest.json names the config and uncompressed layers, with a familiar tag')

  const inspected = JSON.parse((await skopeo('inspect', `docker-archive:${archive}`)).stdout)
  t.same(inspected.Layers, img.diffIds, 'skopeo sees the layers by their diff_ids')
  t.equal(inspected.Architecture, 'amd64')
  const config = JSON.parse((await skopeo('inspect', '--config', `docker-archive:${archive}`)).stdout)
  t.same(config.rootfs.diff_ids, img.diffIds)

  const layout = join(dir, 'layout')
  await skopeo('copy', `docker-archive:${archive}`, `oci:${layout}:x`)
  const bundle = join(dir, 'bundle')
  await execa('umoci', ['unpack', '--rootless', '--image', `${layout}:x`, bundle])
  t.equal(readFileSync(join(bundle, 'rootfs', 'etc', 'hello'), 'utf8'), 'hello from keel\n', 'umoci unpacks the first layer')
  t.equal(readFileSync(join(bundle, 'rootfs', 'etc', 'second'), 'utf8'), 'second layer\n', 'and the second')

  const other = await Store.open(join(dir, 'other'))
  const imported = await importArchive(other, archive, { log: silentLogger })
  t.equal(imported.length, 1)
  t.equal(imported[0]!.ref, 'docker.io/keel/test:1', 'RepoTags is tagged, normalised')
  const m = await other.readJson<ImageManifest>(imported[0]!.descriptor.digest)
  t.equal(m.config.digest, img.config, 'same config')
  t.same(m.layers.map((l) => [l.mediaType, l.digest]), img.diffIds.map((d) => [mediaTypes.ociLayer, d]), 'layers stored as the plain tars they are')
  const src = await other.imageSource('docker.io/keel/test:1')
  t.equal(src?.layers.length, 2)
})

t.test('oci-archive export is read by skopeo and round-trips to the same manifest', async (t) => {
  const dir = t.testdir()
  const store = await Store.open(join(dir, 'store'))
  const img = await makeImage(store, 'docker.io/keel/test:2')
  const archive = join(dir, 'test-oci.tar')
  await exportArchive(store, ['docker.io/keel/test:2'], archive, 'oci-archive')

  const inspected = JSON.parse((await skopeo('inspect', `oci-archive:${archive}`)).stdout)
  t.equal(inspected.Digest, img.manifest.digest, 'skopeo sees the manifest keel stored')
  t.same(inspected.Layers, img.layers.map((l) => l.digest), 'and its layers, compressed as stored')
  const byTag = JSON.parse((await skopeo('inspect', `oci-archive:${archive}:2`)).stdout)
  t.equal(byTag.Digest, img.manifest.digest, 'ref.name holds the tag')

  const index = JSON.parse((await execa('tar', ['xOf', archive, 'index.json'])).stdout)
  t.same(index.manifests[0].annotations, { 'io.containerd.image.name': 'docker.io/keel/test:2', 'org.opencontainers.image.ref.name': '2' })

  const layout = join(dir, 'layout')
  await skopeo('copy', `oci-archive:${archive}`, `oci:${layout}:y`)
  const bundle = join(dir, 'bundle')
  await execa('umoci', ['unpack', '--rootless', '--image', `${layout}:y`, bundle])
  t.equal(readFileSync(join(bundle, 'rootfs', 'etc', 'hello'), 'utf8'), 'hello from keel\n')

  const other = await Store.open(join(dir, 'other'))
  const imported = await importArchive(other, archive, { log: silentLogger, format: 'oci-archive' })
  t.same(imported.map((i) => [i.ref, i.descriptor.digest, i.refName]), [['docker.io/keel/test:2', img.manifest.digest, '2']],
    'the same manifest digest, named again from io.containerd.image.name')
  t.equal((await other.resolve('docker.io/keel/test:2'))?.digest, img.manifest.digest)
  t.ok(await other.hasBlob(img.layers[0]!.digest) && await other.hasBlob(img.config))
})

t.test('exporting twice gives the same bytes', async (t) => {
  const dir = t.testdir()
  const store = await Store.open(join(dir, 'store'))
  await makeImage(store, 'docker.io/keel/a:1')
  await makeImage(store, 'docker.io/keel/b:1', 'other content\n')
  await store.tag('docker.io/keel/a:also', (await store.resolve('docker.io/keel/a:1'))!)
  for (const format of ['docker-archive', 'oci-archive'] as const) {
    const one = join(dir, `one-${format}.tar`)
    const two = join(dir, `two-${format}.tar`)
    await exportArchive(store, ['keel/a:1', 'keel/b:1', 'keel/a:also'], one, format)
    await new Promise((r) => setTimeout(r, 1100))
    await exportArchive(store, ['keel/a:1', 'keel/b:1', 'keel/a:also'], two, format)
    t.ok(readFileSync(one).equals(readFileSync(two)), `${format}: identical`)
    const verbose = (await execa('tar', ['tvf', one])).stdout.split('\n')
    t.ok(verbose.every((l) => / 0\/0 /.test(l) && /1970-01-01 00:00/.test(l)), `${format}: owners 0/0, mtime 0`)
    const names = (await execa('tar', ['tf', one])).stdout.split('\n')
    t.same(names, [...names].sort(), `${format}: entries sorted`)
  }
  t.same(readdirSync(dir).filter((f) => f.endsWith('.tmp')), [], 'no temp files left beside the archives')
  const manifestJson = JSON.parse((await execa('tar', ['xOf', join(dir, 'one-docker-archive.tar'), 'manifest.json'])).stdout)
  t.same(manifestJson.map((e: { RepoTags: string[] }) => e.RepoTags), [['keel/a:1', 'keel/a:also'], ['keel/b:1']], 'one entry per image, tags grouped')
  const inspected = JSON.parse((await skopeo('inspect', `docker-archive:${join(dir, 'one-docker-archive.tar')}:keel/b:1`)).stdout)
  t.equal(inspected.Layers.length, 2, 'skopeo finds an image of a multi-image archive by tag')
  const other = await Store.open(join(dir, 'other'))
  const imported = await importArchive(other, join(dir, 'one-oci-archive.tar'), { log: silentLogger })
  t.same(imported.map((i) => i.ref).sort(), ['docker.io/keel/a:1', 'docker.io/keel/a:also', 'docker.io/keel/b:1'])
  const index = JSON.parse((await execa('tar', ['xOf', join(dir, 'one-oci-archive.tar'), 'index.json'])).stdout)
  t.same(index.manifests.map((m: Descriptor) => m.annotations?.['org.opencontainers.image.ref.name']), ['docker.io/keel/a:1', 'docker.io/keel/b:1', 'also'],
    'in the order asked for; a tag two images share is written as the full reference')
})

t.test('archives written by skopeo import', async (t) => {
  const dir = t.testdir()
  const store = await Store.open(join(dir, 'store'))
  const img = await makeImage(store, 'docker.io/keel/test:3')
  const layout = join(dir, 'layout')
  const { exportOciLayout } = await import('./oci-layout.js')
  await exportOciLayout(store, ['docker.io/keel/test:3'], layout)

  await skopeo('copy', `oci:${layout}:3`, `docker-archive:${join(dir, 'd.tar')}:foo/bar:1`)
  await skopeo('copy', `oci:${layout}:3`, `oci-archive:${join(dir, 'o.tar')}:foo:2`)
  await skopeo('copy', `oci:${layout}:3`, `oci-archive:${join(dir, 'bare.tar')}:latest`)
  const skopeoDigest = JSON.parse((await skopeo('inspect', `oci-archive:${join(dir, 'o.tar')}`)).stdout).Digest as string

  const other = await Store.open(join(dir, 'other'))
  const log = createMemoryLogger()
  const fromDocker = await importArchive(other, join(dir, 'd.tar'), { log })
  t.equal(fromDocker.length, 1)
  t.equal(fromDocker[0]!.ref, 'docker.io/foo/bar:1')
  const m = await other.readJson<ImageManifest>(fromDocker[0]!.descriptor.digest)
  t.equal(m.config.digest, img.config, 'config as it was')
  t.same(m.layers.map((l) => l.digest), img.diffIds, 'skopeo wrote plain layers; their digests are the diff_ids')

  const fromOci = await importArchive(other, join(dir, 'o.tar'), { log })
  t.same(fromOci.map((i) => [i.ref, i.descriptor.digest]), [['docker.io/library/foo:2', skopeoDigest]], 'a ref.name that is a reference is tagged')
  const bare = await importArchive(other, join(dir, 'bare.tar'), { log, format: 'auto' })
  t.same(bare.map((i) => [i.ref, i.refName]), [[undefined, 'latest']], 'a bare tag is not a reference: left to the caller')
  t.same((await indexNames(other)).sort(), ['docker.io/foo/bar:1', 'docker.io/library/foo:2'])

  // docker save writes `docker.io/...` or familiar names; gzip-compressed archives load too
  writeFileSync(join(dir, 'd.tar.gz'), gzipSync(readFileSync(join(dir, 'd.tar'))))
  const third = await Store.open(join(dir, 'third'))
  const gz = await importArchive(third, join(dir, 'd.tar.gz'), { log, format: 'docker-archive' })
  t.equal(gz[0]!.descriptor.digest, fromDocker[0]!.descriptor.digest, 'same manifest from the gzipped archive')
})

/** A docker-archive built by hand: config and layers plus the given manifest.json, in the given order. */
async function handmadeDockerArchive(opts: {
  layers?: Buffer[]; diffIds?: Digest[]; manifest?: (names: { config: string; layers: string[] }) => unknown
  manifestFirst?: boolean; layerName?: (hex: string, i: number) => string; extra?: TarFile[]
}): Promise<{ tar: Buffer; config: Digest }> {
  const layers = opts.layers ?? [await makeTar([{ name: 'a', data: 'a\n' }])]
  const diffIds = opts.diffIds ?? layers.map((l) => sha256Digest(l))
  const config = Buffer.from(JSON.stringify({ architecture: 'arm64', os: 'linux', rootfs: { type: 'layers', diff_ids: diffIds } }))
  const configName = `${createHash('sha256').update(config).digest('hex')}.json`
  const layerNames = layers.map((l, i) => (opts.layerName ?? ((hex) => `${hex}.tar`))(sha256Digest(l).slice(7), i))
  const manifest = Buffer.from(JSON.stringify(opts.manifest?.({ config: configName, layers: layerNames }) ??
    [{ Config: configName, RepoTags: ['hand/made:1'], Layers: layerNames }]))
  const files: TarFile[] = [{ name: configName, data: config }, ...layers.map((l, i) => ({ name: layerNames[i]!, data: l })), ...(opts.extra ?? [])]
  const all = opts.manifestFirst ? [{ name: 'manifest.json', data: manifest }, ...files] : [...files, { name: 'manifest.json', data: manifest }]
  return { tar: await makeTar(all), config: sha256Digest(config) }
}

t.test('docker-archive variants: manifest.json first or last, legacy symlinked layers, odd names', async (t) => {
  const dir = t.testdir()
  const layer = await makeTar([{ name: 'x', data: 'x\n' }])
  const hex = sha256Digest(layer).slice(7)

  // docker save's legacy layout: <id>/layer.tar, repeated layers as symlinks; manifest.json last
  const legacy = await handmadeDockerArchive({
    layers: [layer],
    manifest: ({ config }) => [{ Config: config, RepoTags: ['legacy:1'], Layers: ['id1/layer.tar', 'id2/layer.tar'] }],
    diffIds: [sha256Digest(layer), sha256Digest(layer)],
    layerName: () => 'id1/layer.tar',
    extra: [{ name: 'id1/VERSION', data: '1.0' }, { name: 'id1/json', data: '{}' }, { name: 'id2/layer.tar', type: 'symlink', linkname: '../id1/layer.tar' }],
  })
  writeFileSync(join(dir, 'legacy.tar'), legacy.tar)
  const store = await Store.open(join(dir, 'store'))
  const [img] = await importArchive(store, join(dir, 'legacy.tar'), { log: silentLogger })
  t.equal(img!.ref, 'docker.io/library/legacy:1')
  t.equal(img!.descriptor.platform?.architecture, 'arm64')
  const m = await store.readJson<ImageManifest>(img!.descriptor.digest)
  t.same(m.layers.map((l) => l.digest), [`sha256:${hex}`, `sha256:${hex}`], 'the symlinked layer resolves to the same blob')

  // a layer under a name that does not look like one, named by a manifest.json that comes last: read in a second pass
  const log = createMemoryLogger()
  const odd = await handmadeDockerArchive({ layerName: () => 'layers/0.bin' })
  writeFileSync(join(dir, 'odd.tar'), odd.tar)
  const [oddImg] = await importArchive(store, join(dir, 'odd.tar'), { log })
  t.equal(oddImg!.ref, 'docker.io/hand/made:1')
  t.match(log.lines.join('\n'), /reading the archive again for 1 file/)

  // the same with manifest.json first: one pass
  const first = await handmadeDockerArchive({ layerName: () => 'layers/0.bin', manifestFirst: true })
  writeFileSync(join(dir, 'first.tar'), first.tar)
  const log2 = createMemoryLogger()
  const [firstImg] = await importArchive(store, join(dir, 'first.tar'), { log: log2 })
  t.equal(firstImg!.descriptor.digest, oddImg!.descriptor.digest)
  t.notMatch(log2.lines.join('\n'), /reading the archive again/)

  // newer docker save: blobs/sha256/<hex> paths in manifest.json, gzip layer detected by its magic
  const gz = gzipSync(layer)
  const configData = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256Digest(layer)] } }))
  const blobs = `blobs/sha256/`
  const newer = await makeTar([
    { name: 'blobs', type: 'directory' }, { name: 'blobs/sha256', type: 'directory' },
    { name: blobs + sha256Digest(configData).slice(7), data: configData },
    { name: blobs + sha256Digest(gz).slice(7), data: gz },
    { name: 'index.json', data: '{"schemaVersion":2,"manifests":[]}' },
    { name: 'manifest.json', data: JSON.stringify([{ Config: blobs + sha256Digest(configData).slice(7), RepoTags: ['newer:1'], Layers: [blobs + sha256Digest(gz).slice(7)] }]) },
    { name: 'oci-layout', data: '{"imageLayoutVersion":"1.0.0"}' },
  ])
  writeFileSync(join(dir, 'newer.tar'), newer)
  const [newerImg] = await importArchive(store, join(dir, 'newer.tar'), { log: silentLogger })
  t.equal(newerImg!.ref, 'docker.io/library/newer:1', 'manifest.json wins over index.json in auto mode')
  const nm = await store.readJson<ImageManifest>(newerImg!.descriptor.digest)
  t.same(nm.layers, [{ mediaType: mediaTypes.ociLayerGzip, digest: sha256Digest(gz), size: gz.length }], 'gzip layer kept compressed, typed +gzip')
})

t.test('hostile or broken archives are refused, naming archive and entry, and tag nothing', async (t) => {
  const dir = t.testdir()
  const store = await Store.open(join(dir, 'store'))
  const refuse = async (name: string, data: Buffer, want: { name: string; message: RegExp }, format?: 'docker-archive' | 'oci-archive'): Promise<void> => {
    const path = join(dir, name)
    writeFileSync(path, data)
    await t.rejects(importArchive(store, path, { log: silentLogger, ...(format ? { format } : {}) }), {
      name: want.name, message: new RegExp(`archive ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*${want.message.source}`),
    }, name)
    t.same(await indexNames(store), [], `${name}: no tag`)
  }
  const good = await handmadeDockerArchive({})

  await refuse('dotdot.tar', await makeTar([{ name: '../evil', data: 'x' }, { name: 'manifest.json', data: '[]' }]), { name: 'UserError', message: /entry "\.\.\/evil".*"\.\." component/ })
  await refuse('absolute.tar', await makeTar([{ name: '/etc/evil', data: 'x' }]), { name: 'UserError', message: /entry "\/etc\/evil".*absolute/ })
  await refuse('slashes.tar', await makeTar([{ name: 'blobs//sha256', data: 'x' }]), { name: 'UserError', message: /entry "blobs\/\/sha256".*empty path component/ })

  for (const [label, bad] of [['outside', '../../etc/passwd'], ['absolute', '/etc/passwd'], ['absent', 'nope.tar']] as const) {
    const tarball = await handmadeDockerArchive({ manifest: ({ config }) => [{ Config: config, RepoTags: ['x:1'], Layers: [bad] }] })
    await refuse(`manifest-${label}.tar`, tarball.tar, {
      name: 'UserError', message: new RegExp(`manifest.json names "${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"`),
    })
  }
  const escaping = await handmadeDockerArchive({
    manifest: ({ config }) => [{ Config: config, RepoTags: ['x:1'], Layers: ['l/layer.tar'] }],
    extra: [{ name: 'l/layer.tar', type: 'symlink', linkname: '../../outside.tar' }],
  })
  await refuse('symlink-out.tar', escaping.tar, { name: 'UserError', message: /"l\/layer.tar", a link that points outside the archive/ })

  const content = Buffer.from('not what the name says')
  const liar = await makeTar([
    { name: 'oci-layout', data: '{"imageLayoutVersion":"1.0.0"}' },
    { name: `blobs/sha256/${'0'.repeat(64)}`, data: content },
    { name: 'index.json', data: JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: mediaTypes.ociManifest, digest: `sha256:${'0'.repeat(64)}`, size: content.length, annotations: { 'org.opencontainers.image.ref.name': 'a/b:1' } }] }) },
  ])
  await refuse('liar.tar', liar, { name: 'IntegrityError', message: new RegExp(`entry blobs/sha256/${'0'.repeat(64)} does not match its name.*${sha256Digest(content)}`) }, 'oci-archive')
  t.notOk(await store.hasBlob(sha256Digest(content)), 'the mismatching bytes are not kept')
  t.same(readdirSync(join(store.root, 'blobs', 'sha256')).filter((f) => f.endsWith('.tmp')), [], 'no temp files left')

  // two images, the second with a layer whose diff_id does not match: neither is tagged
  const l1 = await makeTar([{ name: 'one', data: '1' }])
  const l2 = await makeTar([{ name: 'two', data: '2' }])
  const wrong = sha256Digest('something else')
  const c1 = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256Digest(l1)] } }))
  const c2 = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [wrong] } }))
  const diffMismatch = await makeTar([
    { name: 'c1.json', data: c1 }, { name: 'c2.json', data: c2 }, { name: 'l1.tar', data: l1 }, { name: 'l2.tar', data: l2 },
    { name: 'manifest.json', data: JSON.stringify([{ Config: 'c1.json', RepoTags: ['fine:1'], Layers: ['l1.tar'] }, { Config: 'c2.json', RepoTags: ['broken:1'], Layers: ['l2.tar'] }]) },
  ])
  await refuse('diffid.tar', diffMismatch, { name: 'IntegrityError', message: new RegExp(`image broken:1: layer l2.tar has diff_id ${sha256Digest(l2)} but the config lists ${wrong}`) })
  const gzMismatch = await makeTar([
    { name: 'c2.json', data: c2 }, { name: 'l2.tar.gz.tar', data: gzipSync(l2) },
    { name: 'manifest.json', data: JSON.stringify([{ Config: 'c2.json', RepoTags: ['broken:2'], Layers: ['l2.tar.gz.tar'] }]) },
  ])
  await refuse('diffid-gzip.tar', gzMismatch, { name: 'IntegrityError', message: /image broken:2: layer l2.tar.gz.tar has diff_id/ })

  await refuse('format.tar', good.tar, { name: 'UserError', message: /is not an oci-archive: it has no oci-layout \(it looks like a docker-archive\)/ }, 'oci-archive')
  await refuse('neither.tar', await makeTar([{ name: 'README', data: 'hi' }]), { name: 'UserError', message: /is neither a docker-archive/ })
  await refuse('garbage.tar', Buffer.alloc(2048, 7), { name: 'UserError', message: /cannot be read as a tar archive/ })
  await refuse('badtag.tar', (await handmadeDockerArchive({ manifest: ({ config, layers }) => [{ Config: config, RepoTags: ['Bad Tag'], Layers: layers }] })).tar,
    { name: 'UserError', message: /RepoTags entry "Bad Tag" is not a valid reference/ })
  await refuse('twice.tar', await makeTar([{ name: 'manifest.json', data: '[]' }, { name: './manifest.json', data: '[]' }]), { name: 'UserError', message: /entry "\.\/manifest.json" appears twice/ })

  const many = join(dir, 'many.tar')
  writeFileSync(many, good.tar)
  await t.rejects(importArchive(store, many, { log: silentLogger, limits: { maxEntries: 2 } }), { name: 'UserError', message: /more than 2 entries/ })
  await t.rejects(importArchive(store, many, { log: silentLogger, limits: { maxTotalBytes: 100 } }), { name: 'UserError', message: /more than 100 bytes/ })
  await t.rejects(importArchive(store, many, { log: silentLogger, limits: { maxNameLength: 10 } }), { name: 'UserError', message: /name longer than 10 bytes/ })
  await t.rejects(importArchive(store, join(dir, 'missing.tar'), { log: silentLogger }), { name: 'UserError', message: /does not exist/ })
  t.same(await indexNames(store), [], 'still no tag')
  t.ok(await importArchive(store, many, { log: silentLogger }), 'the good archive imports')
})

t.test('export refuses unknown images, never follows a symlink at the temp name, and leaves nothing on failure', async (t) => {
  const dir = t.testdir()
  const store = await Store.open(join(dir, 'store'))
  const img = await makeImage(store, 'docker.io/keel/x:1')
  await t.rejects(exportArchive(store, ['keel/x:1', 'keel/nope:1'], join(dir, 'a.tar'), 'docker-archive'), {
    name: 'UserError', message: /no image keel\/nope:1 \(docker.io\/keel\/nope:1\)/,
  })
  t.notOk(existsSync(join(dir, 'a.tar')))

  // a corrupt layer in the store: export fails, no archive and no temp file remain
  const path = store.blobPath(img.layers[1]!.digest)
  chmodSync(path, 0o644)
  writeFileSync(path, Buffer.alloc(img.layers[1]!.size, 1))
  await t.rejects(exportArchive(store, ['keel/x:1'], join(dir, 'b.tar'), 'oci-archive'), { name: 'IntegrityError', message: /does not match/ })
  t.same(readdirSync(dir).filter((f) => f !== 'store'), [], 'no archive, no temp file')

  // exclusive creation: a symlink planted where the temp file goes is not followed
  const victim = join(dir, 'victim')
  writeFileSync(victim, 'precious')
  const planted = join(dir, '.c.tar.planted.tmp')
  symlinkSync(victim, planted)
  const atomic = await import('./atomic.js')
  const mocked = await t.mockImport<typeof import('./archive.js')>('./archive.js', {
    './atomic.js': { ...atomic, tempPathFor: () => planted },
  })
  await makeImage(store, 'docker.io/keel/y:1')
  await t.rejects(mocked.exportArchive(store, ['keel/y:1'], join(dir, 'c.tar'), 'docker-archive'), { code: 'EEXIST' })
  t.equal(readFileSync(victim, 'utf8'), 'precious', 'the symlink target is untouched')
  t.notOk(existsSync(join(dir, 'c.tar')))
})
