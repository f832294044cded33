import t from 'tap'
import { spawn } from 'node:child_process'
import { readFileSync, writeFileSync, chmodSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { mediaTypes, sha256Digest, type Digest } from '../oci/index.js'
import { Store } from './store.js'
import { withFileLock } from './lock.js'

t.test('an OCI image layout is created and images round-trip', async (t) => {
  const root = t.testdir()
  const store = await Store.open(root)
  t.same(JSON.parse(readFileSync(join(root, 'oci-layout'), 'utf8')), { imageLayoutVersion: '1.0.0' })
  const layer = await store.putBlob('layer bytes')
  await store.putImage('docker.io/keel/x:1', { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [layer.digest] } },
    [{ mediaType: mediaTypes.ociLayer, ...layer }])
  const src = await store.imageSource('docker.io/keel/x:1')
  t.equal(src?.layers.length, 1)
  t.equal(src?.config.architecture, 'amd64')
  const index = JSON.parse(readFileSync(join(root, 'index.json'), 'utf8'))
  t.equal(index.manifests[0].annotations['org.opencontainers.image.ref.name'], 'docker.io/keel/x:1')
  t.equal(await store.imageSource('docker.io/keel/y:1'), undefined)
  const reopened = await Store.open(root)
  t.ok(await reopened.resolve('docker.io/keel/x:1'), 'persisted')
})

t.test('a streamed blob that does not match its descriptor is refused and not kept', async (t) => {
  const root = t.testdir()
  const store = await Store.open(root)
  const data = Buffer.from('hello')
  const good = await store.putBlobStream(Readable.from([data]), { digest: sha256Digest(data), size: 5 })
  t.equal(good.digest, sha256Digest(data))
  await t.rejects(store.putBlobStream(Readable.from([Buffer.from('hellO')]), { digest: sha256Digest(data), size: 5 }), { name: 'IntegrityError' })
  await t.rejects(store.putBlobStream(Readable.from([Buffer.from('hello!')]), { digest: sha256Digest(data), size: 5 }), { name: 'IntegrityError', message: /longer than its descriptor's 5 bytes/ }, 'one byte extra is refused as soon as it arrives')
  t.same(readdirSync(join(root, 'blobs', 'sha256')).filter((f) => f.endsWith('.tmp')), [], 'no temporary files left')
})

t.test('a corrupted blob is detected on read', async (t) => {
  const root = t.testdir()
  const store = await Store.open(root)
  const { digest } = await store.putBlob('{"a":1}')
  const path = store.blobPath(digest as Digest)
  chmodSync(path, 0o644)
  writeFileSync(path, '{"a":2}')
  await t.rejects(store.readJson(digest), { name: 'IntegrityError', message: /does not match its digest/ })
})

t.test('two processes tagging at once both land in index.json', async (t) => {
  const root = t.testdir()
  await Store.open(root)
  const script = (n: number): string => `
    import { Store } from ${JSON.stringify(new URL('./store.ts', import.meta.url).pathname)}
    const s = await Store.open(${JSON.stringify(root)})
    for (let i = 0; i < 20; i++) {
      const b = await s.putBlob('p${n}-' + i)
      await s.tag('docker.io/keel/p${n}:' + i, { mediaType: 'application/vnd.oci.image.manifest.v1+json', ...b })
    }`
  const run = (n: number): Promise<number> => new Promise((resolve) => {
    const child = spawn(process.execPath, [...process.execArgv, '--input-type=module', '-e', script(n)], { stdio: 'inherit' })
    child.on('exit', (code) => resolve(code ?? 1))
  })
  const codes = await Promise.all([run(1), run(2)])
  t.same(codes, [0, 0])
  const index = JSON.parse(readFileSync(join(root, 'index.json'), 'utf8'))
  t.equal(index.manifests.length, 40)
})

t.test('a lock left by a dead process is broken', async (t) => {
  const dir = t.testdir({ 'x.lock': '999999999' })
  t.equal(await withFileLock(join(dir, 'x.lock'), async () => 'got it', 2000), 'got it')
})

t.test('putBlobFile moves a file in as a blob, replacing a bad copy of the same name', async (t) => {
  const root = t.testdir({ 'in.tar': 'tar bytes', 'again.tar': 'tar bytes' })
  const store = await Store.open(join(root, 'store'))
  const blob = await store.putBlobFile(join(root, 'in.tar'))
  t.same(blob, { digest: sha256Digest(Buffer.from('tar bytes')), size: 9 })
  t.equal(readFileSync(store.blobPath(blob.digest), 'utf8'), 'tar bytes')
  t.notOk(readdirSync(root).includes('in.tar'), 'moved, not copied')
  chmodSync(store.blobPath(blob.digest), 0o644)
  writeFileSync(store.blobPath(blob.digest), 'tar bytez')
  t.same(await store.putBlobFile(join(root, 'again.tar')), blob)
  t.equal(readFileSync(store.blobPath(blob.digest), 'utf8'), 'tar bytes', 'the bad bytes are replaced')
  t.same(readdirSync(join(root, 'store', 'blobs', 'sha256')), [blob.digest.slice(7)], 'no temp file left')
})
