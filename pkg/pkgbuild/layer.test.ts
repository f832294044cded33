import t, { type Test } from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import { chmodSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { createMemoryLogger } from '../log/index.js'
import { Store } from '../store/index.js'
import { storeLayer, layerGzip } from './layer.js'
import { StepCache } from './step-cache.js'

/** A layer-like byte stream in uneven chunks. */
async function* chunksOf(data: Buffer, size = 7000): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size)
}

// Compressible and not: text and random bytes.
const tar = Buffer.concat([Buffer.from('keel '.repeat(40000)), randomBytes(100000), Buffer.from('layer\n'.repeat(20000))])
const diffId = `sha256:${createHash('sha256').update(tar).digest('hex')}`

async function setup(t: Test): Promise<{ dir: string; store: Store; cache: StepCache; log: ReturnType<typeof createMemoryLogger> }> {
  const dir = t.testdir({ tmp: {} })
  const store = await Store.open(join(dir, 'store'))
  const log = createMemoryLogger()
  return { dir, store, log, cache: new StepCache(join(dir, 'steps'), store, log) }
}

t.test('a hit gives the very blob a miss made, and both are plain gzip -6 of the tar', async (t) => {
  const { dir, store, cache } = await setup(t)
  const miss = await storeLayer(chunksOf(tar), { store, cache, tmpDir: join(dir, 'tmp') })
  t.equal(miss.diffId, diffId)
  t.same(cache.stats['gzip-layer'], { hits: 0, misses: 1, rejected: 0 })
  const bytes = readFileSync(store.blobPath(miss.blob.digest))
  t.same(bytes, gzipSync(tar, layerGzip), 'the same bytes as zlib in one go')

  const hit = await storeLayer(chunksOf(tar, 65536), { store, cache, tmpDir: join(dir, 'tmp') })
  t.same(hit, miss)
  t.same(cache.stats['gzip-layer'], { hits: 1, misses: 1, rejected: 0 })

  const uncached = await storeLayer(chunksOf(tar), { store, tmpDir: join(dir, 'tmp') })
  t.same(uncached, miss, 'without the cache: the same blob')

  // A large layer goes through a temporary file: the same bytes, nothing left behind.
  const spilled = await storeLayer(chunksOf(tar), { store, tmpDir: join(dir, 'tmp'), memoryBytes: 50000 })
  t.same(spilled, miss)
  t.same(readdirSync(join(dir, 'tmp')), [])
})

t.test('another tar misses', async (t) => {
  const { dir, store, cache } = await setup(t)
  const a = await storeLayer(chunksOf(tar), { store, cache, tmpDir: join(dir, 'tmp') })
  const b = await storeLayer(chunksOf(Buffer.concat([tar, Buffer.from('x')])), { store, cache, tmpDir: join(dir, 'tmp') })
  t.not(b.diffId, a.diffId)
  t.not(b.blob.digest, a.blob.digest)
  t.same(cache.stats['gzip-layer'], { hits: 0, misses: 2, rejected: 0 })
})

t.test('a corrupted blob is detected, not used, and made again', async (t) => {
  const { dir, store, cache, log } = await setup(t)
  const good = await storeLayer(chunksOf(tar), { store, cache, tmpDir: join(dir, 'tmp') })
  const path = store.blobPath(good.blob.digest)
  const bytes = readFileSync(path)
  const bad = Buffer.from(bytes)
  bad[bad.length >> 1]! ^= 0x10
  chmodSync(path, 0o644)
  writeFileSync(path, bad)

  const again = await storeLayer(chunksOf(tar), { store, cache, tmpDir: join(dir, 'tmp') })
  t.same(again, good, 'the same digest as before')
  t.same(readFileSync(path), bytes, 'and the right bytes in the store again')
  t.same(cache.stats['gzip-layer'], { hits: 0, misses: 2, rejected: 1 })
  t.match(log.lines.join('\n'), new RegExp(`step cache: gzip-layer blob ${good.blob.digest}: does not match its digest or does not decompress to ${diffId}; making it again`))
})

t.test('a record pointing at another (intact) blob is detected by its diff_id', async (t) => {
  const { dir, store, cache } = await setup(t)
  const good = await storeLayer(chunksOf(tar), { store, cache, tmpDir: join(dir, 'tmp') })
  const other = await storeLayer(chunksOf(Buffer.from('other layer')), { store, cache, tmpDir: join(dir, 'tmp') })
  const record = join(dir, 'steps', 'gzip-layer', readdirSync(join(dir, 'steps', 'gzip-layer')).find((f) => readFileSync(join(dir, 'steps', 'gzip-layer', f), 'utf8').includes(good.blob.digest))!)
  writeFileSync(record, readFileSync(record, 'utf8').replace(good.blob.digest, other.blob.digest).replace(`"size": ${good.blob.size}`, `"size": ${other.blob.size}`))
  const again = await storeLayer(chunksOf(tar), { store, cache, tmpDir: join(dir, 'tmp') })
  t.same(again, good)
  t.equal(cache.stats['gzip-layer'].rejected, 1)
})
