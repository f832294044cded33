import t, { type Test } from 'tap'
import { chmodSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createMemoryLogger } from '../log/index.js'
import { Store } from '../store/index.js'
import { StepCache, stepKey, verifyBlob } from './step-cache.js'

async function open(t: Test): Promise<{ cache: StepCache; store: Store; log: ReturnType<typeof createMemoryLogger> }> {
  const dir = t.testdir()
  const store = await Store.open(join(dir, 'store'))
  const log = createMemoryLogger()
  return { cache: new StepCache(join(dir, 'steps'), store, log), store, log }
}

t.test('keys: the same inputs in any order give one key; any change gives another', async (t) => {
  const a = stepKey('deb-data', { deb: 'aa', member: 'data.tar.xz', extractor: 2 })
  t.equal(stepKey('deb-data', { extractor: 2, member: 'data.tar.xz', deb: 'aa' }), a)
  t.not(stepKey('deb-data', { deb: 'ab', member: 'data.tar.xz', extractor: 2 }), a)
  t.not(stepKey('deb-data', { deb: 'aa', member: 'data.tar.zst', extractor: 2 }), a)
  t.not(stepKey('deb-data', { deb: 'aa', member: 'data.tar.xz', extractor: 3 }), a)
  t.not(stepKey('gzip-layer', { deb: 'aa', member: 'data.tar.xz', extractor: 2 }), a, 'the kind is part of the key')
  t.not(stepKey('deb-data', { deb: 'aa', member: 'data.tar.xz', extractor: '2' }), a, 'a number is not its text')
})

t.test('a recorded blob is found for exactly its inputs', async (t) => {
  const { cache, store } = await open(t)
  const inputs = { deb: 'aa', member: 'data.tar.xz', extractor: 2 }
  t.equal(await cache.lookup('deb-data', inputs), undefined, 'nothing recorded yet')
  const blob = await store.putBlob('tar bytes')
  await cache.record('deb-data', inputs, blob)
  t.same(await cache.lookup('deb-data', inputs), blob)
  t.same(await cache.lookup('deb-data', { ...inputs }), blob)
  t.equal(await cache.lookup('deb-data', { ...inputs, deb: 'ab' }), undefined, 'another .deb misses')
  t.equal(await cache.lookup('gzip-layer', inputs), undefined, 'another kind misses')
  t.ok(await verifyBlob(store, blob))
})

t.test('a record that is torn, made from other inputs or names a missing blob is a miss', async (t) => {
  const { cache, store, log } = await open(t)
  const inputs = { deb: 'aa', member: 'data.tar.xz', extractor: 2 }
  const blob = await store.putBlob('tar bytes')
  await cache.record('deb-data', inputs, blob)
  const path = cache.recordPath('deb-data', inputs)
  const good = readFileSync(path, 'utf8')

  writeFileSync(path, good.slice(0, 40))
  t.equal(await cache.lookup('deb-data', inputs), undefined, 'torn')
  t.match(log.lines.join('\n'), /not valid JSON; making it again/)

  writeFileSync(path, good.replace('"aa"', '"ab"'))
  t.equal(await cache.lookup('deb-data', inputs), undefined, 'other inputs under this key')
  t.match(log.lines.join('\n'), /made from other inputs/)

  writeFileSync(path, good.replace(/"digest": "sha256:[0-9a-f]+"/, '"digest": "sha256:nothex"'))
  t.equal(await cache.lookup('deb-data', inputs), undefined, 'a bad digest')

  writeFileSync(path, good)
  await store.deleteBlob(blob.digest)
  t.equal(await cache.lookup('deb-data', inputs), undefined, 'the blob is gone (keel cache clean)')
  t.equal(cache.stats['deb-data'].rejected, 3)
})

t.test('reuse: a blob that passes its check is a hit; one that fails is reported, a miss', async (t) => {
  const { cache, store, log } = await open(t)
  const inputs = { deb: 'aa', member: 'data.tar.xz', extractor: 2 }
  const fine = async (): Promise<undefined> => undefined
  t.equal(await cache.reuse('deb-data', inputs, fine), undefined, 'nothing recorded: a miss')
  const blob = await store.putBlob('tar bytes')
  await cache.record('deb-data', inputs, blob)
  const checked: string[] = []
  t.same(await cache.reuse('deb-data', inputs, async (b) => { checked.push(b.digest); return undefined }), blob)
  t.same(checked, [blob.digest], 'the check saw the recorded blob')
  t.equal(await cache.reuse('deb-data', inputs, async () => 'bad bytes'), undefined)
  t.match(log.lines.join('\n'), new RegExp(`step cache: deb-data blob ${blob.digest}: bad bytes; making it again`))
  t.same(cache.stats['deb-data'], { hits: 1, misses: 2, rejected: 1 })
  t.equal(cache.summary(), 'deb-data 1 hit(s), 2 miss(es), 1 rejected')
})

t.test('verifyBlob: a blob whose bytes changed fails', async (t) => {
  const { store } = await open(t)
  const blob = await store.putBlob('tar bytes')
  t.ok(await verifyBlob(store, blob))
  chmodSync(store.blobPath(blob.digest), 0o644)
  writeFileSync(store.blobPath(blob.digest), 'tar bytez')
  t.notOk(await verifyBlob(store, blob), 'same size, other bytes')
  writeFileSync(store.blobPath(blob.digest), 'tar')
  t.notOk(await verifyBlob(store, blob), 'truncated')
  t.notOk(await verifyBlob(store, { ...blob, digest: `sha256:${'0'.repeat(64)}` }), 'missing')
})
