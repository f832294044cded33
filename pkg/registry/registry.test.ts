// Against a real registry (distribution 2.8, via test/helpers/registry.ts):
// push with pushBlob/putManifest, pull back, mounts, indexes, htpasswd auth,
// and skopeo as a peer in both directions.
import t from 'tap'
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { gzipSync } from 'node:zlib'
import { UserError } from '../errors/index.js'
import { createMemoryLogger } from '../log/index.js'
import { mediaTypes, sha256Digest, type Descriptor, type ImageIndex, type ImageManifest } from '../oci/index.js'
import { tarOf } from '../../test/helpers/memory-image.js'
import { startRegistry } from '../../test/helpers/registry.js'
import { RegistryClient, selectPlatform, type Repo } from './index.js'

async function collect(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const c of s as AsyncIterable<Buffer>) chunks.push(c)
  return Buffer.concat(chunks)
}

function run(cmd: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${err.message}\n${stderr}`))
      else resolve({ stdout, stderr })
    })
  })
}

interface Blob { descriptor: Descriptor; bytes: Buffer }
const blob = (bytes: Buffer, mediaType: string): Blob => ({ descriptor: { mediaType, digest: sha256Digest(bytes), size: bytes.length }, bytes })

async function smallImage(arch: string, marker: string): Promise<{ config: Blob; layers: Blob[]; manifest: Buffer }> {
  const tar1 = await tarOf([{ name: 'etc/' }, { name: 'etc/hello', content: `hello ${marker}\n` }])
  const tar2 = await tarOf([{ name: 'bin/tool', content: Buffer.alloc(70_000, marker) }])
  const layers = [blob(gzipSync(tar1), mediaTypes.ociLayerGzip), blob(gzipSync(tar2), mediaTypes.ociLayerGzip)]
  const config = blob(Buffer.from(JSON.stringify({
    architecture: arch, os: 'linux',
    rootfs: { type: 'layers', diff_ids: [tar1, tar2].map((x) => sha256Digest(x)) },
  })), mediaTypes.ociConfig)
  const manifest: ImageManifest = { schemaVersion: 2, mediaType: mediaTypes.ociManifest, config: config.descriptor, layers: layers.map((l) => l.descriptor) }
  return { config, layers, manifest: Buffer.from(JSON.stringify(manifest)) }
}

t.test('push, pull, exists, mount and an index against docker-registry', async (t) => {
  const reg = await startRegistry(t)
  const log = createMemoryLogger()
  const client = new RegistryClient({ log, dockerConfig: join(reg.dir, 'no-config.json') })
  const repo: Repo = { registry: reg.host, repository: 'keel/test' }
  const img = await smallImage('amd64', 'a')

  for (const b of [img.config, ...img.layers]) {
    t.equal(await client.pushBlob(repo, b.descriptor, () => Readable.from([b.bytes])), 'uploaded')
  }
  const digest = await client.putManifest(repo, '1', img.manifest, mediaTypes.ociManifest)
  t.equal(digest, sha256Digest(img.manifest))

  const byTag = await client.getManifest(repo, '1')
  t.equal(byTag.kind, 'manifest')
  t.equal(byTag.descriptor.digest, digest)
  t.equal(byTag.descriptor.mediaType, mediaTypes.ociManifest)
  t.same(byTag.bytes, img.manifest)
  t.equal(byTag.manifest?.layers.length, 2)
  const byDigest = await client.getManifest(repo, digest)
  t.same(byDigest.manifest, byTag.manifest)

  for (const b of [img.config, ...img.layers]) {
    t.same(await collect(await client.fetchBlob(repo, b.descriptor)), b.bytes)
  }
  t.equal(await client.blobExists(repo, img.layers[0]!.descriptor.digest), true)
  t.equal(await client.blobExists(repo, sha256Digest('nope')), false)

  // Again: the registry has them.
  t.equal(await client.pushBlob(repo, img.layers[0]!.descriptor, () => { throw new Error('must not be opened') }), 'exists')

  // Cross-repository mount.
  const other: Repo = { registry: reg.host, repository: 'keel/other' }
  t.equal(await client.pushBlob(other, img.layers[1]!.descriptor, () => { throw new Error('must not be opened') }, { mountFrom: 'keel/test' }), 'mounted')
  t.same(await collect(await client.fetchBlob(other, img.layers[1]!.descriptor)), img.layers[1]!.bytes)
  // Mounting from a repo that lacks it falls back to an upload.
  const lone = blob(Buffer.from('only here'), mediaTypes.ociLayer)
  t.equal(await client.pushBlob(other, lone.descriptor, () => Readable.from([lone.bytes]), { mountFrom: 'keel/test' }), 'uploaded')

  // Empty blob.
  const empty = blob(Buffer.alloc(0), mediaTypes.ociLayer)
  t.equal(await client.pushBlob(repo, empty.descriptor, () => Readable.from([])), 'uploaded')
  t.same(await collect(await client.fetchBlob(repo, empty.descriptor)), Buffer.alloc(0))

  // An index with two platforms.
  const arm = await smallImage('arm64', 'b')
  for (const b of [arm.config, ...arm.layers]) await client.pushBlob(repo, b.descriptor, () => Readable.from([b.bytes]), { mountFrom: 'keel/test' })
  const armDigest = await client.putManifest(repo, sha256Digest(arm.manifest), arm.manifest, mediaTypes.ociManifest)
  const index: ImageIndex = {
    schemaVersion: 2, mediaType: mediaTypes.ociIndex,
    manifests: [
      { mediaType: mediaTypes.ociManifest, digest, size: img.manifest.length, platform: { os: 'linux', architecture: 'amd64' } },
      { mediaType: mediaTypes.ociManifest, digest: armDigest, size: arm.manifest.length, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
    ],
  }
  const indexBytes = Buffer.from(JSON.stringify(index))
  const indexDigest = await client.putManifest(repo, 'multi', indexBytes, mediaTypes.ociIndex)
  const got = await client.getManifest(repo, 'multi')
  t.equal(got.kind, 'index')
  t.equal(got.descriptor.digest, indexDigest)
  const amd = selectPlatform(got.index!, { os: 'linux', architecture: 'amd64' })
  const a64 = selectPlatform(got.index!, { os: 'linux', architecture: 'arm64' })
  t.equal(amd?.digest, digest)
  t.equal(a64?.digest, armDigest)
  const armManifest = await client.getManifest(repo, a64!.digest)
  t.equal(armManifest.manifest?.config.digest, arm.config.descriptor.digest)

  // Not found is a UserError naming what is missing.
  await t.rejects(client.getManifest(repo, 'missing'), { name: 'RegistryNotFoundError', message: /pulling 127\.0\.0\.1:\d+\/keel\/test:missing: manifest: not found/ })
  await t.rejects(client.fetchBlob(repo, blob(Buffer.from('x'), mediaTypes.ociLayer).descriptor), { name: 'RegistryNotFoundError' })

  // skopeo reads what we pushed, checking every digest as it copies.
  const out = await mkdtemp(join(tmpdir(), 'keel-skopeo-'))
  t.teardown(() => rm(out, { recursive: true, force: true }))
  await run('skopeo', ['--insecure-policy', 'copy', '--src-tls-verify=false', `docker://${reg.host}/keel/test:1`, `oci:${out}:copy`])
  const copied = JSON.parse(await readFile(join(out, 'index.json'), 'utf8')) as ImageIndex
  t.equal(copied.manifests[0]?.digest, digest, 'skopeo copies our manifest unchanged')
})

t.test('skopeo pushes, we pull', async (t) => {
  const reg = await startRegistry(t)
  const client = new RegistryClient({ log: createMemoryLogger(), dockerConfig: join(reg.dir, 'none.json') })
  const layout = await mkdtemp(join(tmpdir(), 'keel-layout-'))
  t.teardown(() => rm(layout, { recursive: true, force: true }))
  const img = await smallImage('amd64', 's')
  await mkdir(join(layout, 'blobs', 'sha256'), { recursive: true })
  for (const b of [img.config, ...img.layers]) {
    await writeFile(join(layout, 'blobs', 'sha256', b.descriptor.digest.slice(7)), b.bytes)
  }
  await writeFile(join(layout, 'blobs', 'sha256', sha256Digest(img.manifest).slice(7)), img.manifest)
  await writeFile(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }))
  await writeFile(join(layout, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    manifests: [{ mediaType: mediaTypes.ociManifest, digest: sha256Digest(img.manifest), size: img.manifest.length, annotations: { 'org.opencontainers.image.ref.name': 'v1' } }],
  }))
  await run('skopeo', ['--insecure-policy', 'copy', '--dest-tls-verify=false', `oci:${layout}:v1`, `docker://${reg.host}/peer/app:v1`])

  const repo: Repo = { registry: reg.host, repository: 'peer/app' }
  const m = await client.getManifest(repo, 'v1')
  t.equal(m.kind, 'manifest')
  t.equal(m.manifest?.layers.length, 2)
  const cfg = await collect(await client.fetchBlob(repo, m.manifest!.config))
  t.match(JSON.parse(cfg.toString()), { architecture: 'amd64', os: 'linux' })
  for (const [i, l] of m.manifest!.layers.entries()) {
    const bytes = await collect(await client.fetchBlob(repo, l))
    t.equal(createHash('sha256').update(bytes).digest('hex'), l.digest.slice(7), `layer ${i}`)
  }
})

t.test('htpasswd auth', async (t) => {
  const reg = await startRegistry(t, { auth: { user: 'alice', password: 's3cret' } })
  const repo: Repo = { registry: reg.host, repository: 'private/app' }
  const dir = await mkdtemp(join(tmpdir(), 'keel-auth-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const writeConfig = async (name: string, user: string, pass: string): Promise<string> => {
    const p = join(dir, name)
    await writeFile(p, JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from(`${user}:${pass}`).toString('base64') } } }))
    return p
  }

  const anonymous = new RegistryClient({ log: createMemoryLogger(), dockerConfig: join(dir, 'missing.json') })
  const err = await anonymous.getManifest(repo, 'latest').catch((e: unknown) => e)
  t.type(err, UserError)
  t.match((err as Error).message, new RegExp(`${reg.host.replace(/\./g, '\\.')}.*authentication required.*no credentials`))

  const good = new RegistryClient({ log: createMemoryLogger(), dockerConfig: await writeConfig('good.json', 'alice', 's3cret') })
  const img = await smallImage('amd64', 'p')
  for (const b of [img.config, ...img.layers]) t.equal(await good.pushBlob(repo, b.descriptor, () => Readable.from([b.bytes])), 'uploaded')
  const digest = await good.putManifest(repo, 'latest', img.manifest, mediaTypes.ociManifest)
  const m = await good.getManifest(repo, 'latest')
  t.equal(m.descriptor.digest, digest)
  t.same(await collect(await good.fetchBlob(repo, img.layers[1]!.descriptor)), img.layers[1]!.bytes)

  const bad = new RegistryClient({ log: createMemoryLogger(), dockerConfig: await writeConfig('bad.json', 'alice', 'wrong') })
  const started = Date.now()
  const badErr = await bad.getManifest(repo, 'latest').catch((e: unknown) => e)
  t.type(badErr, UserError)
  t.match((badErr as Error).message, /access denied.*tried anonymously, then basic auth as user "alice".*401/)
  t.ok(Date.now() - started < 5000, 'fails fast, no loop')
})
