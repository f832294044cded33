import t from 'tap'
import { chmodSync, existsSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { mediaTypes, sha256Digest, type Descriptor, type ImageManifest } from '../oci/index.js'
import { cleanStore, listImages, removeImages, verifyStore } from './maintenance.js'
import { Store } from './store.js'

interface Made { manifest: Descriptor; config: Descriptor; layers: Descriptor[] }

async function makeImage(store: Store, ref: string, seed: string, arch = 'amd64'): Promise<Made> {
  const l1 = await store.putBlob(`layer one ${seed}`)
  const l2 = await store.putBlob(`layer two ${seed} (longer)`)
  const layers = [{ mediaType: mediaTypes.ociLayer, ...l1 }, { mediaType: mediaTypes.ociLayer, ...l2 }]
  const manifest = await store.putImage(ref, { architecture: arch, os: 'linux', rootfs: { type: 'layers', diff_ids: [l1.digest, l2.digest] } }, layers)
  const m = await store.readJson<ImageManifest>(manifest.digest)
  return { manifest, config: m.config, layers }
}

const old = (path: string): void => {
  const t = new Date(Date.now() - 3 * 60 * 60 * 1000)
  utimesSync(path, t, t)
}

t.test('listImages: sizes of manifests and of an index variant', async (t) => {
  const store = await Store.open(t.testdir())
  const a = await makeImage(store, 'docker.io/keel/a:1', 'a')
  const amd = await makeImage(store, 'docker.io/keel/tmp:amd', 'amd')
  const arm = await makeImage(store, 'docker.io/keel/tmp:arm', 'arm', 'arm64')
  const index = await store.putBlob(JSON.stringify({
    schemaVersion: 2, mediaType: mediaTypes.ociIndex,
    manifests: [
      { ...amd.manifest, platform: { os: 'linux', architecture: 'amd64' } },
      { ...arm.manifest, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
      { mediaType: mediaTypes.ociManifest, digest: sha256Digest('attestation'), size: 11, platform: { os: 'unknown', architecture: 'unknown' } },
    ],
  }))
  await store.tag('docker.io/keel/multi:1', { mediaType: mediaTypes.ociIndex, ...index })
  await removeImages(store, ['keel/tmp:amd', 'keel/tmp:arm'])

  const list = await listImages(store)
  const sum = (m: Made): number => m.config.size + m.layers.reduce((s, l) => s + l.size, 0)
  t.same(list.map((i) => [i.ref, i.digest, i.mediaType, i.size, i.platforms]), [
    ['docker.io/keel/a:1', a.manifest.digest, mediaTypes.ociManifest, sum(a), undefined],
    ['docker.io/keel/multi:1', index.digest, mediaTypes.ociIndex, sum(amd), ['linux/amd64', 'linux/arm64/v8']],
  ])
  t.equal((await listImages(store, { platform: { os: 'linux', architecture: 'arm64' } }))[1]!.size, sum(arm), 'another platform')

  rmSync(store.blobPath(amd.manifest.digest))
  t.equal((await listImages(store))[1]!.size, sum(arm), 'the variant the store holds when the asked-for one is not there')
  rmSync(store.blobPath(a.manifest.digest))
  const broken = (await listImages(store))[0]!
  t.equal(broken.size, 0)
  t.match(broken.problem, /not in the store/, 'a missing manifest is reported, not thrown')
})

t.test('verifyStore finds corrupted and missing blobs; repair deletes the bad ones', async (t) => {
  const store = await Store.open(t.testdir())
  const a = await makeImage(store, 'docker.io/keel/a:1', 'a')
  const b = await makeImage(store, 'docker.io/keel/b:1', 'b')
  const clean = await verifyStore(store)
  t.same(clean.problems, [])
  t.equal(clean.checked, 8, 'every blob hashed: 2 manifests, 2 configs, 4 layers')

  const corrupt = store.blobPath(a.layers[0]!.digest)
  chmodSync(corrupt, 0o644)
  writeFileSync(corrupt, 'bit rot!!!!!!')
  rmSync(store.blobPath(b.layers[1]!.digest))
  writeFileSync(join(store.root, 'blobs', 'sha256', 'not-a-digest'), 'junk')
  writeFileSync(join(store.root, 'blobs', 'sha256', '.incoming.1.abcd.tmp'), 'in progress')

  const found = await verifyStore(store)
  t.equal(found.checked, 7)
  const junk = join(store.root, 'blobs', 'sha256', 'not-a-digest')
  t.match(found.problems.find((p) => p.path === junk), { problem: /not a valid digest/ })
  t.match(found.problems.find((p) => p.ref === undefined && p.digest === a.layers[0]!.digest), {
    path: corrupt, problem: new RegExp(`content does not match its name \\(it hashes to ${sha256Digest('bit rot!!!!!!')}\\)`),
  })
  t.match(found.problems.find((p) => p.ref === 'docker.io/keel/a:1'), { digest: a.layers[0]!.digest, problem: /is 13 bytes, its descriptor says 11/ })
  t.match(found.problems.find((p) => p.ref === 'docker.io/keel/b:1'), { digest: b.layers[1]!.digest, problem: /layer .* is missing/ })
  t.equal(found.problems.length, 4, 'the temp file of a write under way is not a problem')
  t.ok(existsSync(corrupt), 'without repair nothing is deleted')

  const repaired = await verifyStore(store, { repair: true })
  t.same(repaired.problems.filter((p) => p.repaired).map((p) => p.path).sort(), [junk, corrupt].sort())
  t.notOk(existsSync(junk))
  t.notOk(existsSync(corrupt), 'the bad blob is gone, so a pull fetches it again')
  const after = await verifyStore(store)
  t.same(after.problems.map((p) => [p.ref, p.digest, p.problem.replace(/ sha256:\w+/, '')]), [
    ['docker.io/keel/a:1', a.layers[0]!.digest, 'layer is missing'],
    ['docker.io/keel/b:1', b.layers[1]!.digest, 'layer is missing'],
  ], 'what is left: the images that need pulling again')

  // a corrupt manifest: the blob and the image that names it are both reported
  const m = store.blobPath(b.manifest.digest)
  chmodSync(m, 0o644)
  writeFileSync(m, '{}')
  const again = await verifyStore(store)
  t.match(again.problems, [
    { digest: b.manifest.digest, problem: /content does not match/ },
    { ref: 'docker.io/keel/a:1' },
    { ref: 'docker.io/keel/b:1', digest: b.manifest.digest },
  ])
})

t.test('removeImages untags; unknown names are a clear error and remove nothing', async (t) => {
  const store = await Store.open(t.testdir())
  await makeImage(store, 'docker.io/keel/a:1', 'a')
  await makeImage(store, 'docker.io/library/alpine:3.20', 'alp')
  await t.rejects(removeImages(store, ['keel/a:1', 'nope:2', 'ghcr.io/x/y:1']), {
    name: 'UserError', message: /^no image nope:2 \(docker.io\/library\/nope:2\), ghcr.io\/x\/y:1 in the store at /,
  })
  t.ok(await store.resolve('docker.io/keel/a:1'), 'nothing removed')
  await t.rejects(removeImages(store, ['Bad Ref']), { name: 'UserError', message: /invalid image reference/ })
  t.same(await removeImages(store, ['alpine:3.20', 'docker.io/library/alpine:3.20']), ['docker.io/library/alpine:3.20'])
  t.same((await listImages(store)).map((i) => i.ref), ['docker.io/keel/a:1'])
  t.same(await removeImages(store, []), [])
})

t.test('cleanStore deletes unreferenced blobs, keeps referenced and recent ones and removes stale temp files', async (t) => {
  const store = await Store.open(t.testdir())
  const keep = await makeImage(store, 'docker.io/keel/keep:1', 'keep')
  const gone = await makeImage(store, 'docker.io/keel/gone:1', 'gone')
  const shared = gone.layers[0]!
  // an index naming keep's manifest: its children are reachable through it too
  const idx = await store.putBlob(JSON.stringify({ schemaVersion: 2, manifests: [{ ...keep.manifest, platform: { os: 'linux', architecture: 'amd64' } }] }))
  await store.tag('docker.io/keel/keep:index', { mediaType: mediaTypes.ociIndex, ...idx })
  await store.tag('docker.io/keel/keep:shares', { mediaType: mediaTypes.ociManifest, ...(await store.putBlob(JSON.stringify({
    schemaVersion: 2, config: keep.config, layers: [shared],
  }))) })
  await removeImages(store, ['keel/gone:1'])
  const stray = await store.putBlob('written by a build that has not tagged yet')
  const staleTmp = join(store.root, 'blobs', 'sha256', '.incoming.99.dead.tmp')
  writeFileSync(staleTmp, 'half a download')
  old(staleTmp)
  const freshTmp = join(store.root, 'blobs', 'sha256', '.incoming.98.live.tmp')
  writeFileSync(freshTmp, 'a download under way')
  const staleIndexTmp = join(store.root, '.index.json.77.dead.tmp')
  writeFileSync(staleIndexTmp, '{')
  old(staleIndexTmp)

  const graceful = await cleanStore(store)
  t.same(graceful, { removedBlobs: 0, freedBytes: 'half a download'.length + 1, removedTempFiles: 2 }, 'default grace: recent unreferenced blobs stay, stale temp files go')
  t.ok(await store.hasBlob(stray.digest))
  t.notOk(existsSync(staleTmp) || existsSync(staleIndexTmp))
  t.ok(existsSync(freshTmp), 'a recent temp file stays')

  const withGrace = await cleanStore(store, { graceMs: 60 * 60 * 1000 })
  t.equal(withGrace.removedBlobs, 0, 'a large grace keeps recent blobs')

  const unreferenced = [gone.manifest, gone.config, gone.layers[1]!, stray]
  const r = await cleanStore(store, { graceMs: 0 })
  t.equal(r.removedBlobs, unreferenced.length)
  t.equal(r.freedBytes, unreferenced.reduce((s, d) => s + d.size, 0) + 'a download under way'.length)
  for (const d of unreferenced) t.notOk(await store.hasBlob(d.digest), `removed ${d.digest}`)
  for (const d of [keep.manifest, keep.config, ...keep.layers, shared, idx]) t.ok(await store.hasBlob(d.digest), `kept ${d.digest}`)
  t.same((await verifyStore(store)).problems, [], 'every stored image is whole')
  t.same(readdirSync(join(store.root, 'blobs', 'sha256')).filter((f) => f.endsWith('.tmp')), [])

  // a manifest that cannot be read stops clean before it deletes anything
  const orphan = await store.putBlob('orphan')
  const m = store.blobPath(keep.manifest.digest)
  chmodSync(m, 0o644)
  writeFileSync(m, 'garbage')
  await t.rejects(cleanStore(store, { graceMs: 0 }), { name: 'IntegrityError', message: /cannot clean the store: image docker.io\/keel\/keep:1/ })
  t.ok(await store.hasBlob(orphan.digest), 'nothing deleted')
  t.notOk(existsSync(join(store.root, 'index.json.lock')), 'the lock is released')
})
